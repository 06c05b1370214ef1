/**
 * The `ini` config source: operator override files in oslo.config's INI dialect, per service:
 * `<dir>/all.conf` then `<dir>/<service>.conf`, the later winning as oslo's later
 * `--config-file` does. Groups are matched lower-cased except DEFAULT, options by their dest,
 * the last occurrence wins; a multi_string option collects every occurrence. A file is
 * re-read when its modification time or size changes. Location detail: the file path.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { iniValues, type OsloIniDocument, parseOsloIni } from "../../../src/config/oslo-ini.js";
import { osloDest } from "../../../src/config/render.js";
import { configError } from "../../../src/lib/errors.js";
import type { ConfigSource, ConfigSourceDriver } from "../../types.js";

interface CachedFile {
  stamp: string;
  doc: OsloIniDocument;
}

export function createIniSource(options: { dir: string }): ConfigSource {
  const cache = new Map<string, CachedFile | undefined>();

  async function load(file: string): Promise<OsloIniDocument | undefined> {
    let stamp: string;
    try {
      const info = await stat(file);
      stamp = `${info.mtimeMs}:${info.size}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    const cached = cache.get(file);
    if (cached?.stamp === stamp) return cached.doc;
    const doc = parseOsloIni(await readFile(file, "utf8"), file);
    cache.set(file, { stamp, doc });
    return doc;
  }

  return {
    driver: "ini",
    async lookup(service, group, option) {
      const key = osloDest(option);
      const files = [join(options.dir, "all.conf"), join(options.dir, `${service}.conf`)];
      const found: { value: string; file: string }[] = [];
      for (const file of files) {
        const doc = await load(file);
        if (doc) for (const a of iniValues(doc, group, key)) found.push({ value: a.value, file });
      }
      const last = found.at(-1);
      if (!last) return undefined;
      return {
        raw: last.value,
        values: found.map((f) => f.value),
        location: { source: "ini", detail: last.file },
      };
    },
  };
}

export const driver: ConfigSourceDriver = {
  kind: "config-source",
  name: "ini",
  async create(config) {
    const dir = config["dir"];
    if (typeof dir !== "string" || dir === "")
      throw configError("ini config source: `dir` is required");
    return createIniSource({ dir });
  },
};

/**
 * The rendered option values castellan reads: one Castellan passphrase record per option at
 * `strongroom/<deployment>/rendered/<service>/<group>/<option>`, holding the full option value
 * `$`-escaped (oslo substitutes castellan values too). Kept in sync after every write; a
 * record is only rewritten when its value changed, so a no-op leaves no new version.
 */

import type { Manifest } from "../config/manifest.js";
import { manifestOptions, secretsOfOption } from "../config/option-templates.js";
import { escapeOsloTemplate } from "../config/template.js";
import { mapLimit } from "../lib/concurrency.js";
import { toCastellanRecord, unixSeconds } from "../vault/castellan-record.js";
import { DEPLOYMENT_KEYS } from "../vault/kv-layout.js";
import type { RecordStore } from "../vault/record-store.js";
import type { OptionResolver } from "./resolver.js";

/** Options castellan can serve: those with a manifest value or default. castellan hands a
 * multi_string option one string, which oslo would split into characters, so those are left
 * to remote_file. */
export function castellanMappedOptions(manifest: Manifest, service: string) {
  return [...manifestOptions(manifest, service)].filter(
    ({ spec }) =>
      spec.type !== "multi_string" && (spec.value !== undefined || spec.default !== undefined),
  );
}

export interface SyncResult {
  written: number;
  removed: number;
}

/** What a rendered record held when last read or written here: "type:hex", or null when absent. */
export type RenderedMemo = Map<string, string | null>;

const fingerprint = (record: Record<string, unknown> | undefined) =>
  record ? `${String(record["type"])}:${String(record["value"])}` : null;

export async function syncRenderedRecords(deps: {
  manifest: Manifest;
  resolver: OptionResolver;
  records: RecordStore;
  /** Saves reading records back; must only be shared by writers of the same store. */
  memo?: RenderedMemo;
  /** Only options referencing one of these secrets; every mapped option when omitted. */
  secretNames?: ReadonlySet<string>;
}): Promise<SyncResult> {
  const { manifest, resolver, records, secretNames, memo = new Map() } = deps;
  const targets = [...manifest.services.keys()]
    .flatMap((service) => castellanMappedOptions(manifest, service))
    .filter(({ spec }) => !secretNames || secretsOfOption(spec).some((s) => secretNames.has(s)));
  const result: SyncResult = { written: 0, removed: 0 };
  await mapLimit(targets, 8, async ({ service, group, option }) => {
    const entry = await resolver.resolve(service, group, option);
    const path = DEPLOYMENT_KEYS.rendered(service, group, option);
    const current = memo.has(path) ? memo.get(path)! : fingerprint(await records.read(path));
    const raw = entry.raw?.[0];
    if (raw === undefined) {
      if (current !== null) {
        await records.remove(path);
        result.removed++;
      }
      memo.set(path, null);
      return;
    }
    const escaped = escapeOsloTemplate(raw);
    const record = toCastellanRecord(path, escaped, unixSeconds());
    const wanted = fingerprint({ ...record });
    if (current !== wanted) {
      memo.delete(path);
      await records.write(path, { ...record });
      result.written++;
    }
    memo.set(path, wanted);
  });
  return result;
}

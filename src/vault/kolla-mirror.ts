/**
 * The copy of a deployment's values in kolla's own layout (`deployment.kolla_vault`), kept the
 * way `kolla-writepwd` keeps it: `<path>/<key>` holds a string as `{password: value}` and a map
 * as it is, and an entry is written only when it changed (kolla-readpwd sees no new version
 * otherwise). A secret with no value (removed, or blank as kolla leaves docker_registry_password)
 * has no entry. A copy that could not be written stays pending and is tried again at the next
 * sync, so the broker's own store never waits on this one.
 */
import { isDeepStrictEqual } from "node:util";
import type { SecretValue } from "../config/secret-value.js";
import { mapLimit } from "../lib/concurrency.js";
import { ERRORS } from "../lib/errors.js";
import { KOLLA_PASSWORD_FIELD, type KollaVaultLayout, kollaPasswordPath } from "./kv-layout.js";
import { KvV2 } from "./kv-v2.js";
import type { VaultClient } from "./vault-client.js";

export interface MirrorResult {
  written: number;
  removed: number;
}

export interface SecretMirror {
  readonly layout: KollaVaultLayout;
  /**
   * Brings the named secrets' copies (and any left pending by an earlier failure) in line with
   * `currentValue`; throws STRONGROOM_ERR_KOLLA_VAULT naming the keys it could not write.
   */
  sync(
    names: Iterable<string>,
    currentValue: (name: string) => Promise<SecretValue | undefined>,
  ): Promise<MirrorResult>;
}

const CONCURRENCY = 32;

/** kolla-writepwd's shape of one value; undefined: no entry. */
export function kollaEntry(value: SecretValue | undefined): Record<string, unknown> | undefined {
  if (value === undefined || value === "") return undefined;
  return typeof value === "string" ? { [KOLLA_PASSWORD_FIELD]: value } : value;
}

export function createKollaMirror(options: {
  client: VaultClient;
  layout: KollaVaultLayout;
}): SecretMirror {
  const { layout } = options;
  const kv = new KvV2(options.client, layout.mount);
  const pending = new Set<string>();

  /** One key: "written", "removed" or "same". */
  const syncOne = async (name: string, value: SecretValue | undefined) => {
    const path = kollaPasswordPath(layout, name);
    const wanted = kollaEntry(value);
    const current = await kv.read(path);
    const present = current?.data != null;
    if (wanted === undefined) {
      if (current === undefined) return "same";
      await kv.destroy(path);
      return "removed";
    }
    if (present && isDeepStrictEqual(current.data, wanted)) return "same";
    await kv.write(path, wanted);
    return "written";
  };

  return {
    layout,
    async sync(names, currentValue) {
      const todo = [...new Set([...pending, ...names])].sort();
      const result: MirrorResult = { written: 0, removed: 0 };
      const failed: Array<{ name: string; error: unknown }> = [];
      await mapLimit(todo, CONCURRENCY, async (name) => {
        pending.add(name);
        try {
          const outcome = await syncOne(name, await currentValue(name));
          if (outcome === "written") result.written += 1;
          if (outcome === "removed") result.removed += 1;
          pending.delete(name);
        } catch (error) {
          failed.push({ name, error });
        }
      });
      if (failed.length > 0) {
        const names = failed.map((f) => f.name).sort();
        throw ERRORS.STRONGROOM_ERR_KOLLA_VAULT(
          `kolla_vault: ${names.length} of ${todo.length} entries under ${layout.mount}/${layout.path} not written (${names.slice(0, 10).join(", ")}${names.length > 10 ? ", ..." : ""}); tried again at the next write and at \`up\``,
          { cause: failed[0]!.error },
        );
      }
      return result;
    },
  };
}

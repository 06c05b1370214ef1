/** The "kv" secrets engine: version 2 when the mount's options say version "2", else version 1. */
import type { LogicalBackend, LogicalRequest, MountEntry, StorageView } from "../types.js";
import type { JsonObject } from "./kv-fields.js";
import { nanosAt } from "./kv-time.js";
import { createKvV1Backend } from "./kv-v1.js";
import { createKvV2Backend } from "./kv-v2.js";
import { addVersion, loadConfig, newMeta } from "./kv-v2-store.js";

export const isKvV2Mount = (mount: MountEntry): boolean => mount.options?.version === "2";

export function createKvBackend(): LogicalBackend {
  const v1 = createKvV1Backend();
  const v2 = createKvV2Backend();
  // The mount arrives with every request, so one instance serves either version.
  const pick = (req: LogicalRequest) => (isKvV2Mount(req.mount) ? v2 : v1);
  return {
    type: "kv",
    exists: (req) => pick(req).exists?.(req) ?? false,
    handle: (req) => pick(req).handle(req),
  };
}

/**
 * Turns a KV v1 mount's entries into KV v2 secrets (each becomes version 1), as Vault does when
 * `sys/mounts/<path>/tune` raises options.version from 1 to 2. `storage` is the mount's view.
 * Every v1 entry is read before anything is written, so v1 keys that look like the v2 layout
 * ("config", "meta/...", "versions/...") cannot collide with it. Returns the number upgraded.
 */
export function upgradeKvV1ToV2(storage: StorageView, now: Date): number {
  const entries: [string, JsonObject][] = [];
  for (const key of storage.listRecursive("")) {
    const data = storage.getJSON<JsonObject>(key);
    if (data !== undefined) entries.push([key, data]);
    storage.delete(key);
  }
  const config = loadConfig(storage);
  const stamp = nanosAt(now);
  for (const [key, data] of entries) addVersion(storage, key, newMeta(stamp), config, data, stamp);
  return entries.length;
}

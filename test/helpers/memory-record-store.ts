/** An in-memory RecordStore for unit tests: KV versions and check-and-set like Vault's KV v2. */

import { StrongroomError } from "../../src/lib/errors.js";
import type { RecordStore } from "../../src/vault/record-store.js";

export function createMemoryRecordStore(prefix = "strongroom/test"): RecordStore & {
  entries: Map<string, { data: Record<string, unknown>; version: number }>;
} {
  const entries = new Map<string, { data: Record<string, unknown>; version: number }>();
  return {
    prefix,
    entries,
    async read(path) {
      return structuredClone(entries.get(path)?.data);
    },
    async readVersioned(path) {
      const found = entries.get(path);
      return found && structuredClone(found);
    },
    async write(path, data, cas) {
      const current = entries.get(path)?.version ?? 0;
      if (cas !== undefined && cas !== current) {
        throw new StrongroomError("STRONGROOM_ERR_CAS_MISMATCH", `${path}: check-and-set failed`);
      }
      entries.set(path, { data: structuredClone(data), version: current + 1 });
      return current + 1;
    },
    async remove(path) {
      entries.delete(path);
    },
    async list(folder) {
      const start = `${folder.replace(/\/$/, "")}/`;
      const keys = new Set<string>();
      for (const path of entries.keys()) {
        if (!path.startsWith(start)) continue;
        const rest = path.slice(start.length);
        const slash = rest.indexOf("/");
        keys.add(slash < 0 ? rest : rest.slice(0, slash + 1));
      }
      return [...keys].sort();
    },
  };
}

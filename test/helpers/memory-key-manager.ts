/** An in-memory KeyManager for unit tests: versions, cas and destroy like the real ones. */
import type { KeyManager, SecretValue, StoredSecret } from "../../drivers/types.js";
import { StrongroomError } from "../../src/lib/errors.js";

export interface MemoryKeyManager extends KeyManager {
  /** Names whose next put fails (to test rollbacks). */
  failOn: Set<string>;
  gets: number;
}

/** `clock`: a version's `created` (unix seconds); by default every version is dated 1970. */
export function createMemoryKeyManager(
  initial: Record<string, SecretValue> = {},
  clock: () => number = () => 1,
): MemoryKeyManager {
  const store = new Map<string, StoredSecret[]>();
  const km: MemoryKeyManager = {
    driver: "memory",
    failOn: new Set(),
    gets: 0,
    async get(id, version) {
      km.gets++;
      const versions = store.get(id) ?? [];
      const found =
        version === undefined ? versions.at(-1) : versions.find((v) => v.version === version);
      return found && structuredClone(found);
    },
    async put(id, value, options) {
      if (km.failOn.has(id)) throw new StrongroomError("STRONGROOM_ERR_VAULT", `refused ${id}`);
      const versions = store.get(id) ?? [];
      const current = versions.at(-1)?.version ?? 0;
      if (options?.cas !== undefined && options.cas !== current) {
        throw new StrongroomError("STRONGROOM_ERR_CAS_MISMATCH", `${id}: cas`);
      }
      const type = typeof value === "string" ? "passphrase" : "opaque";
      versions.push({
        id,
        value: structuredClone(value),
        type,
        created: clock(),
        version: current + 1,
      });
      store.set(id, versions);
      return { version: current + 1 };
    },
    async list() {
      return [...store.keys()].sort();
    },
    async versions(id) {
      return (store.get(id) ?? []).map((v) => ({
        version: v.version,
        created: v.created,
        deleted: false,
        destroyed: false,
      }));
    },
    async destroy(id) {
      store.delete(id);
    },
  };
  for (const [name, value] of Object.entries(initial)) void km.put(name, value);
  return km;
}

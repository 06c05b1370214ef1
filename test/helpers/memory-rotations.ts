/**
 * A rotation service over in-memory stores with no targets or restarters: for tests of what
 * sits around the state machine (routes, schedules). test/unit/rotation has the machine itself.
 */
import { createDriverRegistry } from "../../drivers/registry.js";
import type { SecretValue } from "../../drivers/types.js";
import { parseManifest } from "../../src/config/manifest.js";
import { createRotationService } from "../../src/rotation/rotation-service.js";
import { createRotationStore } from "../../src/rotation/rotation-store.js";
import type { RecordStore } from "../../src/vault/record-store.js";
import { createMemoryKeyManager, type MemoryKeyManager } from "./memory-key-manager.js";
import { createMemoryRecordStore } from "./memory-record-store.js";

/** `shared`: the key manager and record store of another broker on the same Vault (a replica). */
export async function createMemoryRotations(
  manifestText: string,
  seeded: Record<string, SecretValue>,
  shared: { keyManager?: MemoryKeyManager; records?: RecordStore; owner?: string } = {},
) {
  const manifest = parseManifest(manifestText, "manifest.yaml");
  const keyManager = shared.keyManager ?? createMemoryKeyManager();
  for (const [name, value] of Object.entries(seeded)) await keyManager.put(name, value);
  const rotations = createRotationService({
    manifest,
    keyManager,
    store: createRotationStore(shared.records ?? createMemoryRecordStore()),
    registry: createDriverRegistry([]),
    owner: shared.owner ?? "test",
    commit: (secret, value, expected) => keyManager.put(secret, value, { cas: expected }),
    log: () => {},
  });
  return { manifest, keyManager, rotations };
}

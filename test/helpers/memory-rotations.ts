/**
 * Rotation services over in-memory stores. `createMemoryRotationService` builds one the way the
 * tests of the state machine (test/unit/rotation) and of its drivers need it; with no targets or
 * restarters, `createMemoryRotations` serves tests of what sits around the machine (routes,
 * schedules).
 */
import { createDriverRegistry } from "../../drivers/registry.js";
import type { SecretValue } from "../../drivers/types.js";
import { parseManifest } from "../../src/config/manifest.js";
import {
  createRotationService,
  type RotationServiceDeps,
} from "../../src/rotation/rotation-service.js";
import { createRotationStore } from "../../src/rotation/rotation-store.js";
import type { RecordStore } from "../../src/vault/record-store.js";
import { createMemoryKeyManager, type MemoryKeyManager } from "./memory-key-manager.js";
import { createMemoryRecordStore } from "./memory-record-store.js";

/**
 * A rotation service owned by "test", over a fresh in-memory rotation store, that commits with a
 * check-and-set put to `keyManager` and logs nothing; `deps` may replace any of these.
 */
export function createMemoryRotationService(
  deps: Pick<RotationServiceDeps, "manifest" | "keyManager" | "registry"> &
    Partial<RotationServiceDeps>,
) {
  const { keyManager } = deps;
  return createRotationService({
    store: createRotationStore(createMemoryRecordStore()),
    owner: "test",
    commit: (secret, value, expected) => keyManager.put(secret, value, { cas: expected }),
    log: () => {},
    ...deps,
  });
}

/** `shared`: the key manager and record store of another broker on the same Vault (a replica). */
export async function createMemoryRotations(
  manifestText: string,
  seeded: Record<string, SecretValue>,
  shared: { keyManager?: MemoryKeyManager; records?: RecordStore; owner?: string } = {},
) {
  const manifest = parseManifest(manifestText, "manifest.yaml");
  const keyManager = shared.keyManager ?? createMemoryKeyManager();
  for (const [name, value] of Object.entries(seeded)) await keyManager.put(name, value);
  const rotations = createMemoryRotationService({
    manifest,
    keyManager,
    registry: createDriverRegistry([]),
    store: createRotationStore(shared.records ?? createMemoryRecordStore()),
    owner: shared.owner ?? "test",
  });
  return { manifest, keyManager, rotations };
}

/**
 * A rotation service over in-memory stores with no targets or restarters: for tests of what
 * sits around the state machine (routes, schedules). test/unit/rotation has the machine itself.
 */
import { createDriverRegistry } from "../../drivers/registry.js";
import type { SecretValue } from "../../drivers/types.js";
import { parseManifest } from "../../src/config/manifest.js";
import { createRotationService } from "../../src/rotation/rotation-service.js";
import { createRotationStore } from "../../src/rotation/rotation-store.js";
import { createMemoryKeyManager } from "./memory-key-manager.js";
import { createMemoryRecordStore } from "./memory-record-store.js";

export async function createMemoryRotations(
  manifestText: string,
  seeded: Record<string, SecretValue>,
) {
  const manifest = parseManifest(manifestText, "manifest.yaml");
  const keyManager = createMemoryKeyManager();
  for (const [name, value] of Object.entries(seeded)) await keyManager.put(name, value);
  const rotations = createRotationService({
    manifest,
    keyManager,
    store: createRotationStore(createMemoryRecordStore()),
    registry: createDriverRegistry([]),
    owner: "test",
    commit: (secret, value, expected) => keyManager.put(secret, value, { cas: expected }),
    log: () => {},
  });
  return { manifest, keyManager, rotations };
}

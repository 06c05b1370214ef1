/**
 * Wires rotations into a running broker: the registry with the manifest's own restarters and
 * rotation targets, the store beside the secrets, the schedules, and the test hooks.
 */
import { hostname } from "node:os";
import type { RecordStore } from "../../drivers/key-managers/vault/index.js";
import { createDriverRegistry, loadDriver } from "../../drivers/registry.js";
import type { KeyManager } from "../../drivers/types.js";
import type { StrongroomBroker } from "../broker/create-broker-service.js";
import type { Manifest } from "../config/manifest.js";
import type { RotationStep } from "./rotation-record.js";
import { type RotationScheduler, startRotationSchedules } from "./rotation-schedule.js";
import { createRotationService, type RotationService } from "./rotation-service.js";
import { createRotationStore } from "./rotation-store.js";

export interface BrokerRotations {
  service: RotationService;
  scheduler: RotationScheduler;
  /** Stops the schedules and waits for running rotations to reach a persisted step. */
  close(): Promise<void>;
}

const CLOSE_WAIT_MS = 10_000;

type Log = (level: "info" | "warn", event: string, fields?: Record<string, unknown>) => void;

export async function createBrokerRotations(options: {
  manifest: Manifest;
  keyManager: KeyManager;
  records: RecordStore;
  broker: StrongroomBroker;
  stateDir: string;
  log: Log;
  env?: NodeJS.ProcessEnv;
}): Promise<BrokerRotations> {
  const { manifest, keyManager } = options;
  const registry = createDriverRegistry();
  for (const entry of manifest.drivers) {
    const driver = await loadDriver(entry.module);
    if (driver.kind === "restarter" || driver.kind === "rotation-target") registry.register(driver);
  }
  const afterPersist = crashHook(options.env ?? process.env, options.log);
  const service = createRotationService({
    manifest,
    keyManager,
    store: createRotationStore(options.records),
    registry,
    // Stable across restarts of this state dir, so a restarted broker resumes its own rotations.
    owner: `${hostname()}:${options.stateDir}`,
    commit: (secret, value, expected) => options.broker.commitSecret(secret, value, expected),
    log: (event, fields) => options.log(event.includes("fail") ? "warn" : "info", event, fields),
    ...(afterPersist && { afterPersist }),
  });
  const scheduler = await startRotationSchedules({
    manifest,
    keyManager,
    rotations: service,
    log: options.log,
  });
  return {
    service,
    scheduler,
    async close() {
      scheduler.stop();
      // Rotations resume from their last persisted step: shutdown need not wait for restarts.
      await Promise.race([
        service.idle(),
        new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref()),
      ]);
    },
  };
}

/**
 * STRONGROOM_TEST_HOOKS=1 with STRONGROOM_CRASH_AT=<step>: the broker dies abruptly (SIGKILL,
 * no cleanup) right after persisting that step, as a power cut would leave it.
 */
function crashHook(env: NodeJS.ProcessEnv, log: Log): ((step: RotationStep) => void) | undefined {
  if (env["STRONGROOM_TEST_HOOKS"] !== "1" || !env["STRONGROOM_CRASH_AT"]) return undefined;
  const crashAt = env["STRONGROOM_CRASH_AT"];
  log("warn", "test hook armed: the broker will be killed after a rotation step", { crashAt });
  return (step) => {
    if (step === crashAt) process.kill(process.pid, "SIGKILL");
  };
}

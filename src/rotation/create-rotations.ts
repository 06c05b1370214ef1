/**
 * Wires rotations into a running broker: the registry (with the manifest's own drivers), the
 * store beside the secrets, and the schedules.
 */
import type { DriverRegistry } from "../../drivers/registry.js";
import type { KeyManager } from "../../drivers/types.js";
import type { Manifest } from "../config/manifest.js";
import type { AuditEvent } from "../lib/audit-log.js";
import type { RecordStore } from "../vault/record-store.js";
import type { RotationStep } from "./rotation-record.js";
import { type RotationScheduler, startRotationSchedules } from "./rotation-schedule.js";
import {
  createRotationService,
  type FetchWatch,
  type RotationService,
  type SecretCommitter,
} from "./rotation-service.js";
import { createRotationStore } from "./rotation-store.js";
import type { SecretSinks } from "./secret-sinks.js";

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
  registry: DriverRegistry;
  commit: SecretCommitter;
  fetches?: FetchWatch;
  /**
   * Who holds the rotation locks this broker takes: stable across restarts of one `up` state dir
   * (a restarted broker resumes its own rotations at once), one per `serve` process.
   */
  owner: string;
  /** How long a lock outlives a broker that stopped renewing it (killed): then any may resume. */
  lockTtlMs?: number;
  sinks?: SecretSinks;
  log: Log;
  /** Called after each persisted step (a test composition kills the broker there). */
  afterPersist?: (step: RotationStep) => void;
  audit?: (event: AuditEvent) => void;
  /** False: the manifest's `rotate.schedule`s are listed but never run by this broker. */
  schedules: boolean;
}): Promise<BrokerRotations> {
  const { manifest, keyManager } = options;
  const service = createRotationService({
    manifest,
    keyManager,
    store: createRotationStore(options.records),
    registry: options.registry,
    owner: options.owner,
    ...(options.lockTtlMs !== undefined && { lockTtlMs: options.lockTtlMs }),
    commit: options.commit,
    ...(options.fetches && { fetches: options.fetches }),
    ...(options.sinks && { sinks: options.sinks }),
    log: (event, fields) => options.log(event.includes("fail") ? "warn" : "info", event, fields),
    ...(options.afterPersist && { afterPersist: options.afterPersist }),
    ...(options.audit && { audit: options.audit }),
  });
  const scheduler = await startRotationSchedules({
    manifest,
    keyManager,
    rotations: service,
    log: options.log,
    enabled: options.schedules,
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

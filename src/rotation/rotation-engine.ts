/**
 * Runs one rotation from the step its record says it reached to the end. Each step is
 * idempotent and persisted before the next begins; before commit a failure rolls back (the
 * target accepts the current value alone again), after commit the rotation only rolls forward.
 * At every instant at least one of current / pending / previous logs in to the target.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { DriverRegistry } from "../../drivers/registry.js";
import type {
  KeyManager,
  RotationTarget,
  RotationValues,
  SecretValue,
} from "../../drivers/types.js";
import type { Manifest } from "../config/manifest.js";
import type { AuditEvent } from "../lib/audit-log.js";
import { ERRORS } from "../lib/errors.js";
import { isCommitted, type RotationRecord, type RotationStep } from "./rotation-record.js";
import type { LockHolder, RotationStore } from "./rotation-store.js";
import { createSecretTargets } from "./rotation-targets.js";

export interface RestartOutcome {
  ok: boolean;
  failure?: string;
}

export interface RotationEngineDeps {
  manifest: Manifest;
  keyManager: KeyManager;
  store: RotationStore;
  registry: DriverRegistry;
  /** This broker: stable across restarts of one state dir. */
  owner: string;
  lockTtlMs: number;
  /** Writes the new value through the broker (lookup cache, rendered records), check-and-set. */
  commit(secret: string, value: SecretValue, expectedVersion: number): Promise<{ version: number }>;
  generate(secret: string): SecretValue;
  /** Restarts the consumer units not in `record.restarted`, calling `onRestarted` after each. */
  restartConsumers(
    record: RotationRecord,
    onRestarted: (unit: string, detail?: { fetched?: string }) => Promise<void>,
  ): Promise<RestartOutcome>;
  /** Delivers the committed value to the manifest's sinks (Kubernetes Secrets) before the
   * consumers restart; idempotent (a resumed rotation calls it again). */
  syncSinks?(secret: string): Promise<void>;
  log(event: string, fields?: Record<string, unknown>): void;
  /** Test hooks: runs right after a step was persisted (STRONGROOM_CRASH_AT). */
  afterPersist?(step: RotationStep): void | Promise<void>;
  /** The broker's audit trail: one record per persisted step, failure and rollback. */
  audit?(event: AuditEvent): void;
  now?(): Date;
}

function auditStep(deps: RotationEngineDeps, record: RotationRecord, step: string): void {
  deps.audit?.({
    event: "rotation-step",
    identity: record.trigger === "schedule" ? "scheduler" : "operator",
    rotation: record.id,
    secret: record.secret,
    step,
    ...(record.toVersion !== undefined && { version: record.toVersion }),
  });
}

export const rotationFailure = (message: string) => ERRORS.STRONGROOM_ERR_ROTATION(message);

const oneLine = (error: unknown): string => {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]!.slice(0, 300);
};

export async function runRotation(
  deps: RotationEngineDeps,
  record: RotationRecord,
): Promise<RotationRecord> {
  const now = () => (deps.now?.() ?? new Date()).toISOString();
  const holder = (): LockHolder => ({
    rotation: record.id,
    owner: deps.owner,
    expiresAt: Date.now() + deps.lockTtlMs,
  });
  const log = (event: string, fields: Record<string, unknown> = {}) =>
    deps.log(event, { rotation: record.id, secret: record.secret, ...fields });

  const persist = async (step: RotationStep) => {
    record.step = step;
    record.updatedAt = now();
    record.history.push({ step, at: record.updatedAt });
    await deps.store.save(record);
    auditStep(deps, record, step);
    log("rotation step", { step });
    await deps.afterPersist?.(step);
  };

  // "planned" was persisted when the rotation was created, before it was queued here.
  if (record.step === "planned" && record.history.length === 1)
    await deps.afterPersist?.("planned");
  await deps.store.acquireLock(record.secret, holder());
  const renewal = setInterval(
    () => void deps.store.renewLock(record.secret, holder()).catch(() => {}),
    Math.max(1000, deps.lockTtlMs / 3),
  );
  renewal.unref();
  let targets: RotationTarget[] = [];
  try {
    record.status = "running";
    delete record.error;
    record.updatedAt = now();
    await deps.store.save(record);
    targets = await createSecretTargets(deps, record.secret, () => record.pending);
    const values = await valuesOf(deps.keyManager, record);
    const run: Run = { deps, record, targets, values, persist, now, log };

    try {
      await forwardToCommit(run);
    } catch (error) {
      if (isCommitted(record)) throw error;
      await rollBack(run, oneLine(error));
      return record;
    }
    await forwardFromCommit(run);
    await deps.store.releaseLock(record.secret, holder());
    record.status = "done";
    await persist("done");
    return record;
  } catch (error) {
    record.status = "failed";
    record.error = { step: nextStepName(record.step), message: oneLine(error) };
    record.updatedAt = now();
    record.history.push({ step: "failure", at: record.updatedAt });
    await deps.store.save(record).catch(() => {});
    auditStep(deps, record, "failure");
    log("rotation failed", { step: record.error.step, reason: record.error.message });
    return record;
  } finally {
    clearInterval(renewal);
    for (const target of targets) await target.close?.().catch(() => {});
  }
}

/**
 * Rolls back a rotation that has not committed (interrupted, or failed and not yet resumed): the
 * targets accept the current value alone again, the pending value is dropped, the lock is freed.
 * The record keeps why it stopped; a rollback that fails leaves it failed with both reasons.
 */
export async function abortRotation(
  deps: RotationEngineDeps,
  record: RotationRecord,
): Promise<RotationRecord> {
  if (isCommitted(record)) {
    throw ERRORS.STRONGROOM_ERR_ROTATION_COMMITTED(
      `rotation ${record.id} committed ${record.secret} version ${record.toVersion ?? "?"}: it can only go forward: strongroom rotate --resume ${record.id}`,
    );
  }
  const now = () => (deps.now?.() ?? new Date()).toISOString();
  const log = (event: string, fields: Record<string, unknown> = {}) =>
    deps.log(event, { rotation: record.id, secret: record.secret, ...fields });
  const stoppedBy = record.error
    ? `${record.error.step}: ${record.error.message}`
    : `interrupted after ${record.step}`;
  await deps.store.acquireLock(record.secret, {
    rotation: record.id,
    owner: deps.owner,
    expiresAt: Date.now() + deps.lockTtlMs,
  });
  let targets: RotationTarget[] = [];
  try {
    targets = await createSecretTargets(deps, record.secret, () => record.pending);
    const values = await valuesOf(deps.keyManager, record);
    const persist = async () => {};
    const run: Run = { deps, record, targets, values, persist, now, log };
    await rollBack(run, `aborted by the operator (it had stopped at ${stoppedBy})`);
    log("rotation aborted");
    return record;
  } catch (error) {
    record.status = "failed";
    record.error = { step: "abort", message: oneLine(error) };
    record.updatedAt = now();
    record.history.push({ step: "failure", at: record.updatedAt });
    await deps.store.save(record).catch(() => {});
    auditStep(deps, record, "failure");
    throw error;
  } finally {
    for (const target of targets) await target.close?.().catch(() => {});
  }
}

/** What the steps of one run share. */
interface Run {
  deps: RotationEngineDeps;
  record: RotationRecord;
  targets: RotationTarget[];
  values: () => RotationValues;
  persist(step: RotationStep): Promise<void>;
  now(): string;
  log(event: string, fields?: Record<string, unknown>): void;
}

async function forwardToCommit(run: Run): Promise<void> {
  const { deps, record, targets, values, persist } = run;
  if (record.step === "planned") {
    record.pending = deps.generate(record.secret);
    if (targets.length > 0 && typeof record.pending !== "string") {
      throw rotationFailure(`${record.secret}: only string values can be applied to a target`);
    }
    await persist("staged");
  }
  if (record.step === "staged") {
    for (const target of targets) await retried(() => target.apply(values()));
    await persist("applied");
  }
  if (record.step === "applied") {
    for (const target of targets) {
      await mustAccept(
        target,
        values().next,
        (accounts) => `${record.secret}: ${accounts} does not accept the new value after apply`,
      );
    }
    await persist("verified");
  }
  if (record.step === "verified") {
    record.toVersion = await commitOnce(deps, record);
    await persist("committed");
  }
}

/** The commit is a check-and-set on the version the rotation started from: run twice (after a
 * crash), the second write fails and the value found decides whether the first one landed. */
async function commitOnce(deps: RotationEngineDeps, record: RotationRecord): Promise<number> {
  const expected = record.fromVersion;
  try {
    return (await deps.commit(record.secret, record.pending!, expected)).version;
  } catch (error) {
    const landed = await deps.keyManager.get(record.secret, expected + 1);
    if (landed && sameValue(landed.value, record.pending!)) return landed.version;
    throw rotationFailure(
      `${record.secret} changed while it was being rotated (expected version ${expected}): ${oneLine(error)}`,
    );
  }
}

async function forwardFromCommit(run: Run): Promise<void> {
  const { deps, record, targets, values, persist, now } = run;
  if (record.step === "committed") {
    try {
      await deps.syncSinks?.(record.secret);
    } catch (error) {
      throw rotationFailure(`secret sink: ${oneLine(error)} (no consumer restarted)`);
    }
    const outcome = await deps.restartConsumers(record, async (unit, detail) => {
      if (!record.restarted.includes(unit)) record.restarted.push(unit);
      if (detail?.fetched) record.fetched = { ...record.fetched, [unit]: detail.fetched };
      record.updatedAt = now();
      await deps.store.save(record);
    });
    if (!outcome.ok) throw rotationFailure(outcome.failure ?? "a consumer did not restart healthy");
    await persist("restarted");
  }
  if (record.step === "restarted") {
    for (const target of targets) {
      await retried(() => target.retire(values()));
      await mustAccept(
        target,
        values().next,
        (accounts) => `${accounts} no longer accepts the new value after retire`,
      );
      if (await retried(() => target.accepts(values().current))) {
        const { accounts } = target.describe();
        throw rotationFailure(`${accounts.join(", ")} still accepts the old value after retire`);
      }
    }
    await persist("retired");
  }
}

async function rollBack(run: Run, reason: string): Promise<void> {
  const { deps, record, targets, values, now } = run;
  run.log("rotation rolling back", { reason });
  if (record.pending !== undefined) {
    try {
      for (const target of [...targets].reverse()) {
        await retried(() => target.rollback(values()));
        await mustAccept(
          target,
          values().current,
          (accounts) => `rollback: ${accounts} does not accept the current value`,
        );
      }
    } catch (error) {
      // The first failure is what the operator must fix: keep it beside the rollback's own.
      throw rotationFailure(`rolling back failed: ${oneLine(error)} (after: ${reason})`);
    }
  }
  record.status = "rolled-back";
  record.rolledBack = reason;
  record.updatedAt = now();
  record.history.push({ step: "rollback", at: record.updatedAt });
  await deps.store.save(record);
  auditStep(deps, record, "rollback");
  await deps.store.releaseLock(record.secret, { rotation: record.id, owner: deps.owner });
}

/** The values every target step needs, read once; `next` follows the staged value. */
async function valuesOf(
  keyManager: KeyManager,
  record: RotationRecord,
): Promise<() => RotationValues> {
  const current = await keyManager.get(record.secret, record.fromVersion);
  if (!current)
    throw rotationFailure(`${record.secret} version ${record.fromVersion} is gone from the store`);
  const previous =
    record.fromVersion > 1
      ? await keyManager.get(record.secret, record.fromVersion - 1)
      : undefined;
  const text = (value: SecretValue) => (typeof value === "string" ? value : JSON.stringify(value));
  return () => ({
    current: text(current.value),
    ...(previous && { previous: text(previous.value) }),
    next: record.pending === undefined ? "" : text(record.pending),
    currentVersion: record.fromVersion,
  });
}

const sameValue = (a: SecretValue, b: SecretValue) => JSON.stringify(a) === JSON.stringify(b);

/** Target steps are idempotent: a transient failure (a busy server, a CLI that timed out)
 * is tried again before it counts, as rotation steps elsewhere are retried. */
const RETRY_DELAYS_MS = [500, 2000];

async function retried<T>(step: () => Promise<T>): Promise<T> {
  for (const delay of RETRY_DELAYS_MS) {
    try {
      return await step();
    } catch {
      await sleep(delay);
    }
  }
  return step();
}

/** Whether a fresh login works, asked again after a pause before answering no. */
async function acceptsSoon(target: RotationTarget, password: string): Promise<boolean> {
  for (const delay of RETRY_DELAYS_MS) {
    if (await retried(() => target.accepts(password))) return true;
    await sleep(delay);
  }
  return retried(() => target.accepts(password));
}

/** Throws a rotation failure, naming the target's accounts, unless it accepts `password` soon. */
async function mustAccept(
  target: RotationTarget,
  password: string,
  failure: (accounts: string) => string,
): Promise<void> {
  if (!(await acceptsSoon(target, password))) {
    throw rotationFailure(failure(target.describe().accounts.join(", ")));
  }
}

function nextStepName(step: RotationStep): string {
  const next: Record<RotationStep, string> = {
    planned: "stage",
    staged: "apply",
    applied: "verify",
    verified: "commit",
    committed: "restart",
    restarted: "retire",
    retired: "release",
    done: "done",
  };
  return next[step];
}

/**
 * A rotation as it is persisted in the store, one KV entry per rotation under
 * `strongroom/<deployment>/rotations/<id>`. The steps follow AWS Secrets Manager's idempotent
 * create / set / test / finish and Vault's write-ahead log: each step is persisted before the
 * next begins, so a killed broker resumes from the last one it wrote.
 */
import type { SecretValue } from "../../drivers/types.js";

/** The last step that completed, in order. */
export const ROTATION_STEPS = [
  "planned", // record written, lock held
  "staged", // the new value is kept pending (not visible to consumers)
  "applied", // the target accepts it (dual targets: the old one too)
  "verified", // a fresh login with it succeeded
  "committed", // it is the current version; the old one is the previous version
  "restarted", // every consumer restarted healthy
  "retired", // the target no longer accepts the old value
  "done", // lock released
] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/**
 * running: in progress (or interrupted: see `RotationView.status`);
 * failed: stopped at a step, resumable; done / rolled-back: finished.
 */
export type RotationStatus = "running" | "failed" | "done" | "rolled-back";

export interface RotationRecord {
  id: string;
  secret: string;
  deployment: string;
  step: RotationStep;
  status: RotationStatus;
  trigger: "operator" | "schedule";
  forced: boolean;
  /** The secret's version when the rotation began: its value is `current` until commit. */
  fromVersion: number;
  /** The version the commit wrote. */
  toVersion?: number;
  /** The staged value. Kept in the store (encrypted like every secret) and never served. */
  pending?: SecretValue;
  /** Consumers in restart order, and the units (service or service/instance) restarted so far. */
  consumers: string[];
  restarted: string[];
  /** Per restarted unit: the fetch that showed it took the new value. */
  fetched?: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  history: Array<{ step: RotationStep | "rollback" | "failure"; at: string }>;
  error?: { step: string; message: string };
  /** Rolled back before commit: why. */
  rolledBack?: string;
}

/** What the API and the CLI show: the record without the value, plus what happens next. */
export interface RotationView {
  id: string;
  secret: string;
  deployment: string;
  step: RotationStep;
  /** "interrupted": the record says running but no broker is working on it (a crash). */
  status: RotationStatus | "interrupted";
  trigger: RotationRecord["trigger"];
  forced: boolean;
  fromVersion: number;
  toVersion?: number;
  consumers: string[];
  restarted: string[];
  fetched?: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  history: RotationRecord["history"];
  error?: RotationRecord["error"];
  rolledBack?: string;
  /** What `rotate --resume` will do from here, in words; absent once finished. */
  resume?: string;
}

export const isFinished = (record: Pick<RotationRecord, "status">): boolean =>
  record.status === "done" || record.status === "rolled-back";

export const stepIndex = (step: RotationStep): number => ROTATION_STEPS.indexOf(step);

export const isCommitted = (record: Pick<RotationRecord, "step">): boolean =>
  stepIndex(record.step) >= stepIndex("committed");

const NEXT_ACTION: Record<RotationStep, string> = {
  planned: "stage a new value, then apply, verify and commit it (nothing has changed yet)",
  staged: "apply the staged value to the target, verify it and commit it",
  applied: "verify the staged value with a fresh login and commit it",
  verified: "commit the staged value, then restart the consumers",
  committed: "restart the consumers not yet restarted, then retire the old value",
  restarted: "retire the old value on the target",
  retired: "release the lock",
  done: "nothing",
};

export function viewOf(record: RotationRecord, active: boolean): RotationView {
  const { pending: _value, ...rest } = record;
  // The store may lag behind a rotation this broker just queued or resumed.
  const status = active ? "running" : record.status === "running" ? "interrupted" : record.status;
  return {
    ...rest,
    status,
    ...(!isFinished(record) && !active && { resume: NEXT_ACTION[record.step] }),
  };
}

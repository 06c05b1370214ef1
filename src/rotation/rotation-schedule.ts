/**
 * `rotate.schedule` (cron) for the running `strongroom up`: a due secret is rotated by the
 * broker itself. A run is skipped (and logged) while the previous one is still going, and runs
 * missed while no broker was running are reported at start, not stacked up and replayed. Every
 * broker sharing the Vault (serve replicas) fires; the secret's lock and a check of when it was
 * last written let one of them rotate per run.
 */
import { Cron } from "croner";
import type { KeyManager } from "../../drivers/types.js";
import type { Manifest } from "../config/manifest.js";
import { ERRORS } from "../lib/errors.js";
import type { RotationService } from "./rotation-service.js";

export interface ScheduleView {
  secret: string;
  schedule: string;
  next: string | null;
  /** The last scheduled time that passed with no rotation since (broker down, or it failed). */
  missed?: string;
  /** This broker runs no schedule: `next` is null. */
  paused?: boolean;
}

export interface RotationScheduler {
  schedules(): ScheduleView[];
  stop(): void;
}

export async function startRotationSchedules(deps: {
  manifest: Manifest;
  keyManager: KeyManager;
  rotations: RotationService;
  log(level: "info" | "warn", event: string, fields: Record<string, unknown>): void;
  now?: () => Date;
  /** False: list the schedules, run none (a broker that must not rotate on its own). */
  enabled?: boolean;
}): Promise<RotationScheduler> {
  const enabled = deps.enabled ?? true;
  const now = deps.now ?? (() => new Date());
  const jobs: Array<{ secret: string; schedule: string; cron: Cron; missed?: string }> = [];
  for (const [secret, spec] of deps.manifest.secrets) {
    const schedule = spec.rotate.schedule;
    if (!schedule || !spec.rotate.allowed) continue;
    const job: (typeof jobs)[number] = {
      secret,
      schedule,
      cron: new Cron(
        schedule,
        { protect: () => skipped(secret), paused: !enabled },
        (self: Cron) => void due(secret, runWindowStart(self)),
      ),
    };
    job.missed = await missedRun(deps.keyManager, secret, schedule, now());
    if (job.missed) {
      deps.log("warn", "scheduled rotation missed", { secret, schedule, missed: job.missed });
    }
    jobs.push(job);
  }

  function skipped(secret: string) {
    deps.log("warn", "scheduled rotation skipped: the previous run is still going", { secret });
  }

  async function due(secret: string, runWindowStart: number) {
    try {
      const [started] = await deps.rotations.start([secret], {
        trigger: "schedule",
        unlessRotatedSince: runWindowStart,
      });
      if (started) deps.log("info", "scheduled rotation started", { secret, rotation: started.id });
      else deps.log("info", "scheduled rotation already done by another broker", { secret });
      const job = jobs.find((j) => j.secret === secret);
      if (job) delete job.missed;
    } catch (error) {
      // Replicas sharing one Vault all fire: the ones that find the run going elsewhere say so.
      const elsewhere =
        ERRORS.STRONGROOM_ERR_ROTATION_LOCKED.is(error) ||
        ERRORS.STRONGROOM_ERR_ROTATION_UNFINISHED.is(error);
      deps.log(elsewhere ? "info" : "warn", "scheduled rotation not started", {
        secret,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  }

  return {
    schedules: () =>
      jobs.map((j) => ({
        secret: j.secret,
        schedule: j.schedule,
        next: enabled ? (j.cron.nextRun()?.toISOString() ?? null) : null,
        ...(j.missed && { missed: j.missed }),
        ...(!enabled && { paused: true }),
      })),
    stop: () => {
      for (const job of jobs) job.cron.stop();
    },
  };
}

/**
 * How far before a run's start a rotation still counts as that run: replicas' timers fire a
 * little apart and their clocks differ from the Vault's that dates versions. Half the schedule's
 * interval at most, so the previous run never counts.
 */
const RUN_SLACK_MS = 5 * 60_000;

function runWindowStart(cron: Cron): number {
  const startedAt = (cron.currentRun() ?? new Date()).getTime();
  const next = cron.nextRun()?.getTime();
  const slack = next === undefined ? RUN_SLACK_MS : Math.min(RUN_SLACK_MS, (next - startedAt) / 2);
  return startedAt - slack;
}

/** The first scheduled time after the current version was written, if it already passed. */
export async function missedRun(
  keyManager: KeyManager,
  secret: string,
  schedule: string,
  now: Date,
): Promise<string | undefined> {
  const versions = await keyManager.versions(secret);
  const last = versions.reduce((max, v) => Math.max(max, v.created), 0);
  if (last === 0) return undefined;
  const [due] = new Cron(schedule, { paused: true }).nextRuns(1, new Date(last * 1000));
  return due && due < now ? due.toISOString() : undefined;
}

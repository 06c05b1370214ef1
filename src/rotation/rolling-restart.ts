/**
 * Restarts the consumers of a rotated secret: in the order given, `maxParallel` at a time,
 * each restart followed by its health check. The first consumer that fails (restart error,
 * timeout, unhealthy) stops the rollout: the rest of its batch finishes, nothing after it
 * starts, because a consumer left on the old value must not see that value retired.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { DriverRegistry } from "../../drivers/registry.js";
import type {
  DriverStanza,
  HealthCheck,
  RollingPolicy,
  ServiceSpec,
} from "../config/manifest-types.js";
import { configError } from "../lib/errors.js";
import { waitHealthy } from "./wait-healthy.js";

export interface ConsumerPlan {
  service: string;
  restart?: DriverStanza;
  health?: HealthCheck;
  rolling: RollingPolicy;
}

export interface RollingRestartOptions {
  /** In the order given (the engine computes it). */
  consumers: readonly ConsumerPlan[];
  /** Services restarted healthy before a crash: skipped. */
  alreadyDone: ReadonlySet<string>;
  /** To create restarters by kind. */
  registry: DriverRegistry;
  /** How many consumers restart at once (at least 1). */
  maxParallel: number;
  /** Caps restart + health per consumer; a consumer's own `rolling.timeoutSeconds` wins when
   * shorter, and bounds it alone without this. */
  stepTimeoutMs?: number;
  /** The engine persists progress here before the next batch starts; calls never overlap. */
  onRestarted(service: string): Promise<void>;
  log?(event: string, fields: Record<string, unknown>): void;
  signal?: AbortSignal;
}

export interface ConsumerFailure {
  service: string;
  /** One line, never a value. */
  reason: string;
}

/**
 * `restarted`: the consumers this call restarted healthy (not `alreadyDone`), in plan order.
 * On failure, `failed` is the first failed consumer in plan order; `alsoFailed` the other
 * failures of its batch (when any); `notStarted` the consumers after that batch. An abort
 * between batches reports the next consumer as failed with "aborted before its restart".
 */
export type RollingRestartResult =
  | { ok: true; restarted: string[] }
  | {
      ok: false;
      restarted: string[];
      failed: ConsumerFailure;
      alsoFailed?: ConsumerFailure[];
      notStarted: string[];
    };

type Outcome = { ok: true } | { ok: false; reason: string };

export const NO_RESTARTER_WARNING = "no restarter: the operator restarts it";

/** A service's part of the plan, as the manifest describes it. */
export const consumerPlanOf = (spec: ServiceSpec): ConsumerPlan => ({
  service: spec.name,
  ...(spec.restart && { restart: spec.restart }),
  ...(spec.health && { health: spec.health }),
  rolling: spec.rolling,
});

export async function rollingRestart(
  options: RollingRestartOptions,
): Promise<RollingRestartResult> {
  const log = options.log ?? (() => undefined);
  const batchSize = Math.max(1, Math.floor(options.maxParallel) || 1);
  const pending = options.consumers.filter((plan) => {
    const done = options.alreadyDone.has(plan.service);
    if (done) log("restart.skipped", { service: plan.service, reason: "restarted before" });
    return !done;
  });
  const restarted: string[] = [];
  // onRestarted calls run one after another, in completion order.
  let persisted: Promise<void> = Promise.resolve();
  const record = (service: string) => {
    persisted = persisted.then(() => options.onRestarted(service));
    return persisted;
  };

  for (let start = 0; start < pending.length; start += batchSize) {
    const batch = pending.slice(start, start + batchSize);
    const after = pending.slice(start + batchSize).map((plan) => plan.service);
    if (options.signal?.aborted) {
      const [next, ...rest] = [...batch.map((plan) => plan.service), ...after];
      log("restart.aborted", { before: next });
      return failure(restarted, { service: next!, reason: "aborted before its restart" }, [], rest);
    }
    const settled = await Promise.allSettled(
      batch.map(async (plan) => {
        const outcome = await restartConsumer(plan, options, log);
        if (outcome.ok) await record(plan.service);
        return outcome;
      }),
    );
    const persistError = settled.find((s) => s.status === "rejected");
    if (persistError) throw (persistError as PromiseRejectedResult).reason;
    const outcomes = settled.map((s) => (s as PromiseFulfilledResult<Outcome>).value);
    const failures: ConsumerFailure[] = [];
    outcomes.forEach((outcome, i) => {
      const service = batch[i]!.service;
      if (outcome.ok) restarted.push(service);
      else failures.push({ service, reason: outcome.reason });
    });
    const [first, ...others] = failures;
    if (first) {
      log("restart.stopped", { failed: first.service, notStarted: after });
      return failure(restarted, first, others, after);
    }
    if (after.length > 0) await pauseAfter(batch, options.signal, log);
  }
  return { ok: true, restarted };
}

function failure(
  restarted: string[],
  failed: ConsumerFailure,
  alsoFailed: ConsumerFailure[],
  notStarted: string[],
): RollingRestartResult {
  return {
    ok: false,
    restarted,
    failed,
    ...(alsoFailed.length > 0 && { alsoFailed }),
    notStarted,
  };
}

async function pauseAfter(
  batch: readonly ConsumerPlan[],
  signal: AbortSignal | undefined,
  log: NonNullable<RollingRestartOptions["log"]>,
): Promise<void> {
  const seconds = Math.max(...batch.map((plan) => plan.rolling.pauseSeconds));
  if (seconds <= 0) return;
  log("restart.pause", { seconds });
  // An abort ends the pause; the loop then reports it.
  await sleep(seconds * 1000, undefined, { signal }).catch(() => undefined);
}

async function restartConsumer(
  plan: ConsumerPlan,
  options: RollingRestartOptions,
  log: NonNullable<RollingRestartOptions["log"]>,
): Promise<Outcome> {
  const { service } = plan;
  if (!plan.restart) {
    log("restart.no-restarter", { service, level: "warn", message: NO_RESTARTER_WARNING });
    return { ok: true };
  }
  const timeoutMs = Math.min(
    options.stepTimeoutMs ?? Number.POSITIVE_INFINITY,
    plan.rolling.timeoutSeconds * 1000,
  );
  const stepTimeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, stepTimeout]) : stepTimeout;
  const why = (during: string, detail?: string) => {
    if (options.signal?.aborted) return `aborted during its ${during}`;
    const last = detail ? `: ${detail}` : "";
    return `${during} did not finish within ${timeoutMs / 1000} s${last}`;
  };
  log("restart.start", { service, driver: plan.restart.kind });
  try {
    await untilAborted(restartWith(plan.restart, service, options.registry, signal), signal);
  } catch (error) {
    const reason = signal.aborted ? why("restart") : firstLine(error);
    log("restart.failed", { service, reason });
    return { ok: false, reason };
  }
  if (plan.health) {
    const health = await waitHealthy(options.registry, plan.health, signal);
    if (!health.healthy) {
      const reason = signal.aborted
        ? why("health check", health.detail)
        : `unhealthy after ${health.attempts} attempt(s): ${health.detail}`;
      log("restart.failed", { service, reason });
      return { ok: false, reason };
    }
    log("restart.healthy", { service, attempts: health.attempts, detail: health.detail });
  }
  log("restart.done", { service });
  return { ok: true };
}

async function restartWith(
  stanza: DriverStanza,
  service: string,
  registry: DriverRegistry,
  signal: AbortSignal,
): Promise<void> {
  const driver = registry.restarter(stanza.kind);
  const problem = driver.validate?.(stanza);
  if (problem) throw configError(`bad ${stanza.kind} restart stanza: ${problem}`);
  await driver.create(stanza, { service }).restart(signal);
}

/** Third-party restarters may ignore the signal: stop waiting for them anyway. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : "restart failed").split("\n")[0]!.trim() ||
  "restart failed";

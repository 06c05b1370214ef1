/**
 * Restarts the consumers of a rotated secret: in the order given, `maxParallel` at a time. A
 * service with `instances` restarts one unit per instance ("placement/placement-0"). Each unit:
 * drained in its load balancer (when there is one), restarted, health-checked, confirmed to
 * have fetched its config with the new value (when asked), then put back in the load balancer.
 * The first unit that fails (restart error, timeout, unhealthy, no fetch) stops the rollout:
 * the rest of its batch finishes, nothing after it starts (the failed unit stays drained and
 * the others keep serving), because a consumer left on the old value must not see it retired.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { DriverRegistry } from "../../drivers/registry.js";
import type {
  DriverStanza,
  HealthCheck,
  RollingPolicy,
  ServiceInstance,
  ServiceSpec,
} from "../config/manifest-types.js";
import { configError } from "../lib/errors.js";
import { waitHealthy } from "./wait-healthy.js";

export interface ConsumerPlan {
  /** "service/instance" for one instance of a service; the service's name when absent. */
  unit?: string;
  service: string;
  instance?: string;
  restart?: DriverStanza;
  health?: HealthCheck;
  loadBalancer?: DriverStanza;
  rolling: RollingPolicy;
}

export const unitOf = (plan: ConsumerPlan): string => plan.unit ?? plan.service;

/** After a unit's health check: did it fetch its config with the new value (since `since`)? */
export type FetchCheck = (
  plan: ConsumerPlan,
  since: number,
  signal: AbortSignal,
) => Promise<{ ok: true; detail: string } | { ok: false; reason: string }>;

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
  /** Asked after each unit's health check when its policy says `confirmFetch`. */
  confirmFetch?: FetchCheck;
  /** The engine persists progress here before the next batch starts; calls never overlap. */
  onRestarted(unit: string, detail?: { fetched?: string }): Promise<void>;
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

type Outcome = { ok: true; fetched?: string } | { ok: false; reason: string };

export const NO_RESTARTER_WARNING = "no restarter: the operator restarts it";

/** A service's part of the plan, as the manifest describes it: one unit per instance. */
export function consumerPlansOf(spec: ServiceSpec): ConsumerPlan[] {
  const base = {
    service: spec.name,
    ...(spec.restart && { restart: spec.restart }),
    ...(spec.health && { health: spec.health }),
    rolling: spec.rolling,
  };
  if (spec.instances.length === 0) return [{ unit: spec.name, ...base }];
  return spec.instances.map((instance) => {
    const fill = <T>(value: T): T => withInstance(value, instance);
    return {
      ...base,
      unit: `${spec.name}/${instance.name}`,
      instance: instance.name,
      ...(spec.restart && { restart: fill(spec.restart) }),
      ...(spec.health && { health: fill(spec.health) }),
      ...(spec.loadBalancer && { loadBalancer: fill(spec.loadBalancer) }),
    };
  });
}

/** `{instance}` and `{instance.KEY}` replaced in every string of a stanza. */
export function withInstance<T>(value: T, instance: ServiceInstance): T {
  if (typeof value === "string") {
    return value.replace(/\{instance(?:\.([A-Za-z0-9_-]+))?\}/g, (whole, key?: string) =>
      key === undefined ? instance.name : (instance.values[key] ?? whole),
    ) as T;
  }
  if (Array.isArray(value)) return value.map((item) => withInstance(item, instance)) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, withInstance(v, instance)]),
    ) as T;
  }
  return value;
}

export async function rollingRestart(
  options: RollingRestartOptions,
): Promise<RollingRestartResult> {
  const log = options.log ?? (() => undefined);
  const batchSize = Math.max(1, Math.floor(options.maxParallel) || 1);
  const pending = options.consumers.filter((plan) => {
    const done = options.alreadyDone.has(unitOf(plan));
    if (done) log("restart.skipped", { service: unitOf(plan), reason: "restarted before" });
    return !done;
  });
  const restarted: string[] = [];
  // onRestarted calls run one after another, in completion order.
  let persisted: Promise<void> = Promise.resolve();
  const record = (unit: string, fetched?: string) => {
    persisted = persisted.then(() =>
      options.onRestarted(unit, fetched === undefined ? undefined : { fetched }),
    );
    return persisted;
  };

  for (let start = 0; start < pending.length; start += batchSize) {
    const batch = pending.slice(start, start + batchSize);
    const after = pending.slice(start + batchSize).map(unitOf);
    if (options.signal?.aborted) {
      const [next, ...rest] = [...batch.map(unitOf), ...after];
      log("restart.aborted", { before: next });
      return failure(restarted, { service: next!, reason: "aborted before its restart" }, [], rest);
    }
    const settled = await Promise.allSettled(
      batch.map(async (plan) => {
        const outcome = await restartConsumer(plan, options, log);
        if (outcome.ok) await record(unitOf(plan), outcome.fetched);
        return outcome;
      }),
    );
    const persistError = settled.find((s) => s.status === "rejected");
    if (persistError) throw (persistError as PromiseRejectedResult).reason;
    const outcomes = settled.map((s) => (s as PromiseFulfilledResult<Outcome>).value);
    const failures: ConsumerFailure[] = [];
    outcomes.forEach((outcome, i) => {
      const service = unitOf(batch[i]!);
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
  const service = unitOf(plan);
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
  const failed = (reason: string): Outcome => {
    log("restart.failed", {
      service,
      reason,
      ...(plan.loadBalancer && { loadBalancer: "left drained" }),
    });
    return { ok: false, reason };
  };

  const balancer = plan.loadBalancer && loadBalancerOf(plan, options.registry);
  if (balancer) {
    try {
      const drain = AbortSignal.any([signal, AbortSignal.timeout(balancer.drainMs)]);
      const drained = await balancer.lb.drain(balancer.server, drain);
      log("restart.drained", { service, drained: drained.drained, detail: drained.detail });
    } catch (error) {
      return failed(signal.aborted ? why("drain") : `drain refused: ${firstLine(error)}`);
    }
  }
  const since = Date.now();
  log("restart.start", { service, driver: plan.restart.kind });
  try {
    await untilAborted(restartWith(plan.restart, plan.service, options.registry, signal), signal);
  } catch (error) {
    return failed(signal.aborted ? why("restart") : firstLine(error));
  }
  if (plan.health) {
    const health = await waitHealthy(options.registry, plan.health, signal);
    if (!health.healthy) {
      return failed(
        signal.aborted
          ? why("health check", health.detail)
          : `unhealthy after ${health.attempts} attempt(s): ${health.detail}`,
      );
    }
    log("restart.healthy", { service, attempts: health.attempts, detail: health.detail });
  }
  let fetched: string | undefined;
  if (plan.rolling.confirmFetch && options.confirmFetch) {
    const check = await options.confirmFetch(plan, since, signal);
    if (!check.ok) return failed(check.reason);
    fetched = check.detail;
    log("restart.fetched", { service, detail: check.detail });
  }
  if (balancer) {
    try {
      await balancer.lb.ready(balancer.server);
    } catch (error) {
      return failed(`restarted, but not put back in the load balancer: ${firstLine(error)}`);
    }
  }
  log("restart.done", { service });
  return fetched === undefined ? { ok: true } : { ok: true, fetched };
}

const DEFAULT_DRAIN_SECONDS = 30;

function loadBalancerOf(plan: ConsumerPlan, registry: DriverRegistry) {
  const stanza = plan.loadBalancer!;
  const driver = registry.loadBalancer(stanza.kind);
  const problem = driver.validate?.(stanza);
  if (problem) throw new Error(`bad ${stanza.kind} load_balancer stanza: ${problem}`);
  const seconds = stanza["drain_timeout_seconds"];
  return {
    lb: driver.create(stanza, { service: plan.service }),
    server: String(stanza["server"] ?? plan.instance ?? plan.service),
    drainMs: (typeof seconds === "number" ? seconds : DEFAULT_DRAIN_SECONDS) * 1000,
  };
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

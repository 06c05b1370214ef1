/**
 * What a rotation would do, computed without touching anything: may the secret rotate at all
 * (TripleO's do-not-rotate list, the manifest's `rotate.allowed`), its target accounts, its
 * consumers in restart order and the window during which old and new values overlap.
 */
import type { TargetDescription } from "../../drivers/types.js";
import {
  consumersOf,
  type Manifest,
  type RollingPolicy,
  type ServiceSpec,
} from "../config/manifest.js";
import { ROTATION_REFUSED } from "../config/tripleo-parameters.js";
import { ERRORS } from "../lib/errors.js";

export interface ConsumerStep {
  service: string;
  restart: string;
  health: string;
}

export interface RotationPlan {
  secret: string;
  currentVersion: number;
  generator: string;
  forced: boolean;
  /** Why the secret would not rotate without --force (a do-not-rotate reason). */
  overridden?: string;
  targets: TargetDescription[];
  consumers: ConsumerStep[];
  /** Services restarted together, batch after batch. */
  restartOrder: string[][];
  /** The expected window of overlap between the old and the new value, in words. */
  window: string;
  /** The worst case for the restarts: every batch's restart + health timeout. */
  maxRestartSeconds: number;
}

export const refusedError = (secret: string, reason: string, hint: string) =>
  ERRORS.STRONGROOM_ERR_ROTATION_REFUSED(`${secret} may not rotate: ${reason}${hint}`);

/** Throws when the secret may not rotate; returns the reason --force overrode, if any. */
export function checkRotatable(
  manifest: Manifest,
  secret: string,
  force: boolean,
): string | undefined {
  const spec = manifest.secrets.get(secret);
  if (!spec) {
    throw ERRORS.STRONGROOM_ERR_UNKNOWN_SECRET(`no secret "${secret}" in the manifest`);
  }
  const never = ROTATION_REFUSED.get(secret as never);
  if (never) throw refusedError(secret, never, " (not even with --force)");
  if (spec.rotate.allowed) return undefined;
  const reason = spec.rotate.reason ?? "the manifest says rotate.allowed: false";
  if (!force) throw refusedError(secret, reason, " (--force overrides)");
  return reason;
}

/** Consumers in manifest order, cut into batches of the smallest max_parallel among them. */
export function restartBatches(manifest: Manifest, secret: string): string[][] {
  const consumers = consumersOf(manifest, secret).sort(
    (a, b) => serviceIndex(manifest, a) - serviceIndex(manifest, b),
  );
  const width = restartWidth(consumers.map((s) => manifest.services.get(s)!.rolling));
  const batches: string[][] = [];
  for (let i = 0; i < consumers.length; i += width) batches.push(consumers.slice(i, i + width));
  return batches;
}

/** How many consumers restart at once: the most cautious of their `max_parallel`. */
export const restartWidth = (policies: readonly RollingPolicy[]): number =>
  Math.max(1, Math.min(...policies.map((p) => p.maxParallel)));

const serviceIndex = (manifest: Manifest, service: string) =>
  [...manifest.services.keys()].indexOf(service);

export function describeRestart(spec: ServiceSpec): ConsumerStep {
  const what = spec.restart?.["command"] ?? spec.restart?.["resource"];
  const restart = spec.restart
    ? `${spec.restart.kind}${Array.isArray(what) ? `: ${what.join(" ")}` : typeof what === "string" ? `: ${what}` : ""}`
    : "none (restart it yourself)";
  const units =
    spec.instances.length === 0
      ? ""
      : `; ${spec.instances.length} instances one at a time (${spec.instances.map((i) => i.name).join(", ")})`;
  const drained = spec.loadBalancer ? `, each drained in ${spec.loadBalancer.kind} first` : "";
  const confirmed =
    spec.restart && spec.rolling.confirmFetch
      ? "; counted once it fetched its config with the new value"
      : "";
  const health = spec.health
    ? `${spec.health.kind} ${spec.health.url ?? (spec.health.port ? `${spec.health.host}:${spec.health.port}` : (spec.health.command ?? []).join(" "))}`
    : "none";
  return { service: spec.name, restart: `${restart}${units}${drained}${confirmed}`, health };
}

export function overlapWindow(targets: TargetDescription[], maxRestartSeconds: number): string {
  if (targets.length === 0) return "no target: consumers read the new value when they restart";
  const restarts = `the consumers' restarts (at most ${maxRestartSeconds} s)`;
  if (targets.some((t) => t.overlap === "none")) {
    return `the old value stops working when the new one is applied; consumers fail new logins until ${restarts} are done`;
  }
  if (targets.every((t) => t.overlap === "alternating")) {
    return `no gap: the new value is set on the other user; the previous user keeps working across ${restarts}, then is refused (retire)`;
  }
  return `no gap: the target accepts the old and the new value from apply until retire, across ${restarts}`;
}

export function restartSeconds(manifest: Manifest, batches: string[][]): number {
  return batches.reduce(
    (sum, batch) =>
      sum + Math.max(...batch.map((s) => manifest.services.get(s)!.rolling.timeoutSeconds)),
    0,
  );
}

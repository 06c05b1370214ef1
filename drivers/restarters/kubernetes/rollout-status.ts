/**
 * `kubectl rollout status`, as kubectl's polymorphichelpers/rollout_status.go decides it, for
 * the three workloads `kubectl rollout restart` handles: whether the rollout is done, what it
 * waits for (kubectl's words), or why it failed (a deadline exceeded, no rolling strategy).
 */

export type WorkloadKind = "Deployment" | "StatefulSet" | "DaemonSet";

/** The parts of apps/v1 objects the decision reads (client-node's models fit). */
export interface Workload {
  metadata?: { name?: string; generation?: number };
  spec?: {
    replicas?: number;
    paused?: boolean;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    readyReplicas?: number;
    currentReplicas?: number;
    updateRevision?: string;
    currentRevision?: string;
    desiredNumberScheduled?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
    conditions?: Array<{ type?: string; reason?: string }>;
  };
}

export type RolloutStatus =
  | { state: "done"; message: string }
  | { state: "waiting"; message: string }
  | { state: "failed"; message: string };

/** kubectl's deploymentutil.TimedOutReason. */
export const PROGRESS_DEADLINE_EXCEEDED = "ProgressDeadlineExceeded";
const ROLLING_UPDATE = "RollingUpdate";

const done = (message: string): RolloutStatus => ({ state: "done", message });
const waiting = (message: string): RolloutStatus => ({ state: "waiting", message });
const failed = (message: string): RolloutStatus => ({ state: "failed", message });

export function rolloutStatus(kind: WorkloadKind, workload: Workload): RolloutStatus {
  switch (kind) {
    case "Deployment":
      return deploymentStatus(workload);
    case "StatefulSet":
      return statefulSetStatus(workload);
    case "DaemonSet":
      return daemonSetStatus(workload);
  }
}

const n = (value: number | undefined) => value ?? 0;

function deploymentStatus({ metadata = {}, spec = {}, status = {} }: Workload): RolloutStatus {
  const name = metadata.name ?? "";
  if (n(metadata.generation) > n(status.observedGeneration)) {
    return waiting("Waiting for deployment spec update to be observed...");
  }
  const progressing = status.conditions?.find((c) => c.type === "Progressing");
  if (progressing?.reason === PROGRESS_DEADLINE_EXCEEDED) {
    return failed(`deployment "${name}" exceeded its progress deadline`);
  }
  if (spec.replicas !== undefined && n(status.updatedReplicas) < spec.replicas) {
    return waiting(
      `Waiting for deployment "${name}" rollout to finish: ${n(status.updatedReplicas)} out of ${spec.replicas} new replicas have been updated...`,
    );
  }
  if (n(status.replicas) > n(status.updatedReplicas)) {
    return waiting(
      `Waiting for deployment "${name}" rollout to finish: ${n(status.replicas) - n(status.updatedReplicas)} old replicas are pending termination...`,
    );
  }
  if (n(status.availableReplicas) < n(status.updatedReplicas)) {
    return waiting(
      `Waiting for deployment "${name}" rollout to finish: ${n(status.availableReplicas)} of ${n(status.updatedReplicas)} updated replicas are available...`,
    );
  }
  return done(`deployment "${name}" successfully rolled out`);
}

function daemonSetStatus({ metadata = {}, spec = {}, status = {} }: Workload): RolloutStatus {
  const name = metadata.name ?? "";
  if ((spec.updateStrategy?.type ?? ROLLING_UPDATE) !== ROLLING_UPDATE) {
    return failed(`rollout status is only available for ${ROLLING_UPDATE} strategy type`);
  }
  if (n(metadata.generation) > n(status.observedGeneration)) {
    return waiting("Waiting for daemon set spec update to be observed...");
  }
  const desired = n(status.desiredNumberScheduled);
  if (n(status.updatedNumberScheduled) < desired) {
    return waiting(
      `Waiting for daemon set "${name}" rollout to finish: ${n(status.updatedNumberScheduled)} out of ${desired} new pods have been updated...`,
    );
  }
  if (n(status.numberAvailable) < desired) {
    return waiting(
      `Waiting for daemon set "${name}" rollout to finish: ${n(status.numberAvailable)} of ${desired} updated pods are available...`,
    );
  }
  return done(`daemon set "${name}" successfully rolled out`);
}

function statefulSetStatus({ metadata = {}, spec = {}, status = {} }: Workload): RolloutStatus {
  const strategy = spec.updateStrategy;
  if ((strategy?.type ?? ROLLING_UPDATE) !== ROLLING_UPDATE) {
    return failed(`rollout status is only available for ${ROLLING_UPDATE} strategy type`);
  }
  if (n(status.observedGeneration) === 0 || n(metadata.generation) > n(status.observedGeneration)) {
    return waiting("Waiting for statefulset spec update to be observed...");
  }
  if (spec.replicas !== undefined && n(status.readyReplicas) < spec.replicas) {
    return waiting(`Waiting for ${spec.replicas - n(status.readyReplicas)} pods to be ready...`);
  }
  if (strategy?.rollingUpdate) {
    const partition = strategy.rollingUpdate.partition;
    if (spec.replicas !== undefined && partition !== undefined) {
      const expected = spec.replicas - partition;
      if (n(status.updatedReplicas) < expected) {
        return waiting(
          `Waiting for partitioned roll out to finish: ${n(status.updatedReplicas)} out of ${expected} new pods have been updated...`,
        );
      }
    }
    return done(
      `partitioned roll out complete: ${n(status.updatedReplicas)} new pods have been updated...`,
    );
  }
  if (status.updateRevision !== status.currentRevision) {
    return waiting(
      `waiting for statefulset rolling update to complete ${n(status.updatedReplicas)} pods at revision ${status.updateRevision}...`,
    );
  }
  return done(
    `statefulset rolling update complete ${n(status.currentReplicas)} pods at revision ${status.currentRevision}...`,
  );
}

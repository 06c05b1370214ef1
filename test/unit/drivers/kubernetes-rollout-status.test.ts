/** `kubectl rollout status`'s decision (kubectl's polymorphichelpers/rollout_status.go), case by case. */
import { describe, expect, it } from "vitest";
import { restartPatch, rolloutStatus } from "../../../drivers/restarters/kubernetes/index.js";

const meta = (generation: number) => ({ name: "x", generation });

describe("kubernetes rollout status, as kubectl decides it", () => {
  it("Deployment: observed, updated, old replicas gone, available; a deadline fails", () => {
    const spec = { replicas: 3 };
    const at = (status: object, generation = 2) =>
      rolloutStatus("Deployment", { metadata: meta(generation), spec, status });
    expect(at({ observedGeneration: 1 })).toEqual({
      state: "waiting",
      message: "Waiting for deployment spec update to be observed...",
    });
    expect(at({ observedGeneration: 2, updatedReplicas: 1 }).message).toBe(
      'Waiting for deployment "x" rollout to finish: 1 out of 3 new replicas have been updated...',
    );
    expect(at({ observedGeneration: 2, updatedReplicas: 3, replicas: 4 }).message).toBe(
      'Waiting for deployment "x" rollout to finish: 1 old replicas are pending termination...',
    );
    expect(
      at({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 2 }).message,
    ).toBe(
      'Waiting for deployment "x" rollout to finish: 2 of 3 updated replicas are available...',
    );
    expect(
      at({ observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 }),
    ).toEqual({ state: "done", message: 'deployment "x" successfully rolled out' });
    expect(
      at({
        observedGeneration: 2,
        conditions: [{ type: "Progressing", reason: "ProgressDeadlineExceeded" }],
      }),
    ).toEqual({ state: "failed", message: 'deployment "x" exceeded its progress deadline' });
  });

  it("StatefulSet: ready replicas, a partition, then revisions; OnDelete cannot be followed", () => {
    const sts = (spec: object, status: object) =>
      rolloutStatus("StatefulSet", {
        metadata: meta(2),
        spec: { replicas: 3, updateStrategy: { type: "RollingUpdate" }, ...spec },
        status: { observedGeneration: 2, readyReplicas: 3, ...status },
      });
    expect(sts({}, { observedGeneration: 0 }).state).toBe("waiting");
    expect(sts({}, { readyReplicas: 1 }).message).toBe("Waiting for 2 pods to be ready...");
    expect(
      sts(
        { updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 1 } } },
        { updatedReplicas: 1 },
      ).message,
    ).toBe("Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...");
    expect(sts({}, { updateRevision: "b", currentRevision: "a", updatedReplicas: 2 }).state).toBe(
      "waiting",
    );
    expect(sts({}, { updateRevision: "b", currentRevision: "b", currentReplicas: 3 })).toEqual({
      state: "done",
      message: "statefulset rolling update complete 3 pods at revision b...",
    });
    expect(sts({ updateStrategy: { type: "OnDelete" } }, {}).state).toBe("failed");
  });

  it("DaemonSet: updated and available against the desired number", () => {
    const ds = (status: object) =>
      rolloutStatus("DaemonSet", {
        metadata: meta(2),
        spec: { updateStrategy: { type: "RollingUpdate" } },
        status: { observedGeneration: 2, desiredNumberScheduled: 4, ...status },
      });
    expect(ds({ updatedNumberScheduled: 2 }).message).toBe(
      'Waiting for daemon set "x" rollout to finish: 2 out of 4 new pods have been updated...',
    );
    expect(ds({ updatedNumberScheduled: 4, numberAvailable: 3 }).message).toBe(
      'Waiting for daemon set "x" rollout to finish: 3 of 4 updated pods are available...',
    );
    expect(ds({ updatedNumberScheduled: 4, numberAvailable: 4 }).state).toBe("done");
  });

  it("the restart patch is kubectl's: only the restartedAt annotation, RFC 3339 to the second", () => {
    expect(JSON.stringify(restartPatch(new Date("2026-03-04T05:06:07.891Z")))).toBe(
      '{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-03-04T05:06:07Z"}}}}}',
    );
  });
});

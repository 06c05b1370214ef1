/**
 * The `kubernetes` restarter: `kubectl rollout restart` then `kubectl rollout status` for a
 * Deployment, StatefulSet or DaemonSet, through @kubernetes/client-node.
 *
 *   restart: {kind: kubernetes, resource: deployment/nova-api, namespace: openstack,
 *             timeout_seconds: 600, kubeconfig: /etc/strongroom/kubeconfig, context: prod}
 *
 * The restart is the request kubectl sends: a GET of the object, then a strategic-merge PATCH
 * (`application/strategic-merge-patch+json`, `?fieldManager=kubectl-rollout`) of
 * `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":T}}}}}`
 * with T the time in RFC 3339. The wait polls the object until kubectl's rollout status says
 * done (rollout-status.ts); a progress deadline exceeded fails at once, and a rollout that is
 * not done within `timeout_seconds` (default 300) fails with kubectl's last waiting message.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Restarter, RestarterDriver } from "../../types.js";
import {
  parseStanza,
  rejectUnknownKeys,
  restartError,
  type Stanza,
  StanzaProblem,
  secondsParameter,
  stanzaProblem,
  stringParameter,
  withService,
} from "../stanza.js";
import {
  AppsV1Api,
  apiProblem,
  CONNECTION_KEYS,
  type Connection,
  connect,
  OBJECT_NAME,
  PatchStrategy,
  parseConnection,
  setHeaderOptions,
} from "./kube-client.js";
import { rolloutStatus, type Workload, type WorkloadKind } from "./rollout-status.js";

export { rolloutStatus } from "./rollout-status.js";

export const DEFAULT_TIMEOUT_SECONDS = 300;
export const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";
/** kubectl rollout restart's default --field-manager. */
export const FIELD_MANAGER = "kubectl-rollout";
const POLL_MS = 250;

/** kubectl's names for the three kinds (`deployment/x`, `deploy/x`, `deployments/x`, ...). */
const KINDS: Readonly<Record<string, WorkloadKind>> = {
  deployment: "Deployment",
  deployments: "Deployment",
  deploy: "Deployment",
  statefulset: "StatefulSet",
  statefulsets: "StatefulSet",
  sts: "StatefulSet",
  daemonset: "DaemonSet",
  daemonsets: "DaemonSet",
  ds: "DaemonSet",
};

interface KubernetesStanza {
  kind: WorkloadKind;
  name: string;
  connection: Connection;
  timeoutSeconds: number;
}

function parseKubernetesStanza(stanza: Stanza, service: string): KubernetesStanza {
  rejectUnknownKeys(stanza, ["resource", "timeout_seconds", ...CONNECTION_KEYS]);
  const resource = withService(stringParameter(stanza, "resource"), service);
  const [type, name, ...rest] = resource.split("/");
  const kind = KINDS[type!.toLowerCase()];
  if (!kind || name === undefined || rest.length > 0) {
    throw new StanzaProblem(
      `"resource" must be deployment/NAME, statefulset/NAME or daemonset/NAME`,
    );
  }
  if (!OBJECT_NAME.test(name) || name.length > 253) {
    throw new StanzaProblem(`"resource": "${name}" is not a Kubernetes object name`);
  }
  return {
    kind,
    name,
    connection: parseConnection(stanza),
    timeoutSeconds: secondsParameter(stanza, "timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
  };
}

/** The strategic-merge patch `kubectl rollout restart` sends, at `now`. */
export function restartPatch(now: Date): Record<string, unknown> {
  // RFC 3339 to the second, as Go's time.RFC3339 formats it (in UTC).
  const restartedAt = `${now.toISOString().slice(0, 19)}Z`;
  return {
    spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: restartedAt } } } },
  };
}

/** client-node's read / patch calls for one workload kind. */
function workloadCalls(api: AppsV1Api, kind: WorkloadKind) {
  const patchAs = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);
  switch (kind) {
    case "Deployment":
      return {
        read: (p: { name: string; namespace: string }) => api.readNamespacedDeployment(p),
        patch: (p: { name: string; namespace: string; body: object; fieldManager: string }) =>
          api.patchNamespacedDeployment(p, patchAs),
      };
    case "StatefulSet":
      return {
        read: (p: { name: string; namespace: string }) => api.readNamespacedStatefulSet(p),
        patch: (p: { name: string; namespace: string; body: object; fieldManager: string }) =>
          api.patchNamespacedStatefulSet(p, patchAs),
      };
    case "DaemonSet":
      return {
        read: (p: { name: string; namespace: string }) => api.readNamespacedDaemonSet(p),
        patch: (p: { name: string; namespace: string; body: object; fieldManager: string }) =>
          api.patchNamespacedDaemonSet(p, patchAs),
      };
  }
}

export function createKubernetesRestarter(stanza: Stanza, service: string): Restarter {
  const parsed = parseStanza(service, "kubernetes", () => parseKubernetesStanza(stanza, service));
  const what = `restart of ${service}`;
  return {
    driver: "kubernetes",
    async restart(abort) {
      const cluster = connect(parsed.connection, (reason) => restartError(`${what}: ${reason}`));
      const object = `${parsed.kind.toLowerCase()} ${cluster.namespace}/${parsed.name}`;
      const calls = workloadCalls(cluster.config.makeApiClient(AppsV1Api), parsed.kind);
      const target = { name: parsed.name, namespace: cluster.namespace };
      const call = async <T>(step: string, work: () => Promise<T>): Promise<T> => {
        try {
          return await work();
        } catch (error) {
          throw restartError(`${what}: ${step} ${object}: ${apiProblem(error)}`, error);
        }
      };

      const current = (await call("cannot read", () => calls.read(target))) as Workload;
      if (current.spec?.paused) {
        throw restartError(`${what}: ${object} is paused (kubectl rollout resume it first)`);
      }
      await call("cannot restart", () =>
        calls.patch({ ...target, body: restartPatch(new Date()), fieldManager: FIELD_MANAGER }),
      );

      const deadline = AbortSignal.any([abort, AbortSignal.timeout(parsed.timeoutSeconds * 1000)]);
      let last = "Waiting for the rollout to start...";
      while (!deadline.aborted) {
        const workload = (await call("cannot read", () => calls.read(target))) as Workload;
        // Its generation is at least the patched one: until the controller observed it, the
        // status below waits ("spec update to be observed").
        const status = rolloutStatus(parsed.kind, workload);
        if (status.state === "done") return;
        if (status.state === "failed") throw restartError(`${what}: ${object}: ${status.message}`);
        last = status.message;
        await sleep(POLL_MS, undefined, { signal: deadline }).catch(() => undefined);
      }
      if (abort.aborted) throw restartError(`${what}: waiting for ${object} was stopped (aborted)`);
      throw restartError(
        `${what}: the rollout of ${object} did not finish within ${parsed.timeoutSeconds} s (${last.replace(/\.\.\.$/, "")})`,
      );
    },
  };
}

export const driver: RestarterDriver = {
  kind: "restarter",
  name: "kubernetes",
  validate: (stanza) => stanzaProblem(() => parseKubernetesStanza(stanza, "service")),
  create: (stanza, context) => createKubernetesRestarter(stanza, context.service),
};

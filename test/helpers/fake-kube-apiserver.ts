/**
 * A FAKE Kubernetes API server, for tests only: no real API server (nor kind, k3s, etcd) can run
 * on this machine, so the Kubernetes drivers are tested against this one. It is HTTPS on
 * 127.0.0.1 (a throwaway CA), checks a bearer token, and implements exactly the endpoints the
 * drivers use:
 *
 *   GET / PATCH (strategic merge) /apis/apps/v1/namespaces/NS/{deployments,statefulsets,daemonsets}/NAME
 *   GET / PATCH (server-side apply) /api/v1/namespaces/NS/secrets/NAME
 *
 * Every request is RECORDED (method, path, query, content type, parsed body) so tests can check
 * the shapes are kubectl's. A PATCH of a workload bumps its generation, as the real API server
 * does when the pod template changes; each later GET then moves its status one step, like a
 * controller: observed, one more replica updated, available. `behaviour` decides how a rollout
 * ends: "healthy" (rolls out), "unavailable" (updated pods never become available) or
 * "deadline" (the Progressing condition turns ProgressDeadlineExceeded).
 */

import { writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createTestCa } from "./test-pki.js";

/** Kubernetes objects as the fake stores them: plain JSON, read by path in the tests. */
// biome-ignore lint/suspicious/noExplicitAny: JSON objects, shaped by the Kubernetes API
export type KubeObject = Record<string, any>;

export type WorkloadKind = "deployments" | "statefulsets" | "daemonsets";
export type RolloutBehaviour = "healthy" | "unavailable" | "deadline";

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  /** The JSON body, parsed; undefined without one. */
  body: unknown;
}

interface Workload {
  kind: WorkloadKind;
  object: KubeObject;
  behaviour: RolloutBehaviour;
}

export interface FakeKubeApiServer {
  url: string;
  requests: RecordedRequest[];
  /** A kubeconfig file (in `dir`) pointing at this server with its CA and token. */
  writeKubeconfig(dir: string, options?: { namespace?: string }): string;
  addWorkload(
    kind: WorkloadKind,
    namespace: string,
    name: string,
    options?: { replicas?: number; behaviour?: RolloutBehaviour; paused?: boolean },
  ): void;
  workload(kind: WorkloadKind, namespace: string, name: string): KubeObject | undefined;
  secret(namespace: string, name: string): KubeObject | undefined;
  /** The requests after `since` (an index into `requests`), without the GETs. */
  writesSince(since: number): RecordedRequest[];
  /** Makes every request answer this HTTP status (a Status object) until cleared. */
  failWith(status: number | undefined, reason?: string, message?: string): void;
  close(): Promise<void>;
}

export const TOKEN = "fake-kube-token";
const WORKLOAD_KINDS: Record<WorkloadKind, string> = {
  deployments: "Deployment",
  statefulsets: "StatefulSet",
  daemonsets: "DaemonSet",
};

const status = (code: number, reason: string, message: string) => ({
  kind: "Status",
  apiVersion: "v1",
  status: "Failure",
  reason,
  message,
  code,
});

/** Strategic merge for what the drivers patch (nested maps); lists are replaced. */
function merge(into: KubeObject, patch: KubeObject): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete into[key];
    else if (typeof value === "object" && !Array.isArray(value)) {
      if (typeof into[key] !== "object" || into[key] === null) into[key] = {};
      merge(into[key], value);
    } else into[key] = value;
  }
}

function initialStatus(kind: WorkloadKind, replicas: number): KubeObject {
  if (kind === "daemonsets") {
    return {
      observedGeneration: 1,
      desiredNumberScheduled: replicas,
      updatedNumberScheduled: replicas,
      numberAvailable: replicas,
    };
  }
  return {
    observedGeneration: 1,
    replicas,
    updatedReplicas: replicas,
    availableReplicas: replicas,
    readyReplicas: replicas,
    currentReplicas: replicas,
    updateRevision: "rev-1",
    currentRevision: "rev-1",
    conditions: [{ type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" }],
  };
}

/** One controller step towards the end `behaviour` sets, after a template change. */
function progress(workload: Workload): void {
  const { object, kind, behaviour } = workload;
  const st = object.status;
  const generation = object.metadata.generation;
  const replicas = kind === "daemonsets" ? st.desiredNumberScheduled : object.spec.replicas;
  if (st.observedGeneration < generation) {
    st.observedGeneration = generation;
    if (kind === "daemonsets") {
      st.updatedNumberScheduled = 0;
      st.numberAvailable = 0;
    } else {
      st.updatedReplicas = 0;
      st.readyReplicas = 0;
      st.availableReplicas = 0;
      st.updateRevision = `rev-${generation}`;
      st.conditions = [{ type: "Progressing", status: "True", reason: "ReplicaSetUpdated" }];
    }
    return;
  }
  if (behaviour === "deadline") {
    st.conditions = [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded" }];
    return;
  }
  const available = behaviour === "healthy";
  if (kind === "daemonsets") {
    if (st.updatedNumberScheduled < replicas) st.updatedNumberScheduled += 1;
    if (available) st.numberAvailable = st.updatedNumberScheduled;
    return;
  }
  if (st.updatedReplicas < replicas) st.updatedReplicas += 1;
  if (available) {
    st.readyReplicas = st.updatedReplicas;
    st.availableReplicas = st.updatedReplicas;
    if (st.updatedReplicas === replicas) {
      st.currentRevision = st.updateRevision;
      st.currentReplicas = replicas;
      st.conditions = [{ type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" }];
    }
  }
}

export async function startFakeKubeApiServer(): Promise<FakeKubeApiServer> {
  const ca = await createTestCa("fake-kube-apiserver-ca");
  const leaf = await ca.issue("fake-kube-apiserver", "server");
  const requests: RecordedRequest[] = [];
  const workloads = new Map<string, Workload>();
  const secrets = new Map<string, KubeObject>();
  let failure: { code: number; reason: string; message: string } | undefined;
  let resourceVersion = 100;
  const nextVersion = () => String(++resourceVersion);

  const send = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

  const handle = (req: IncomingMessage, res: ServerResponse, text: string) => {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const contentType = req.headers["content-type"];
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = text;
    }
    requests.push({
      method: req.method ?? "",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType,
      body,
    });
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      return send(res, 401, status(401, "Unauthorized", "Unauthorized"));
    }
    if (failure)
      return send(res, failure.code, status(failure.code, failure.reason, failure.message));

    const apps =
      /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets|daemonsets)\/([^/]+)$/.exec(
        url.pathname,
      );
    if (apps) {
      const [, namespace, kind, name] = apps as unknown as [string, string, WorkloadKind, string];
      const workload = workloads.get(`${kind}/${namespace}/${name}`);
      if (!workload) {
        return send(res, 404, status(404, "NotFound", `${kind}.apps "${name}" not found`));
      }
      if (req.method === "GET") {
        if (workload.object.metadata.generation > 1) progress(workload);
        return send(res, 200, workload.object);
      }
      if (req.method === "PATCH") {
        if (contentType !== "application/strategic-merge-patch+json") {
          return send(res, 415, status(415, "UnsupportedMediaType", `${contentType}`));
        }
        const before = JSON.stringify(workload.object.spec.template);
        merge(workload.object, body as KubeObject);
        if (JSON.stringify(workload.object.spec.template) !== before) {
          workload.object.metadata.generation += 1;
        }
        workload.object.metadata.resourceVersion = nextVersion();
        return send(res, 200, workload.object);
      }
      return send(res, 405, status(405, "MethodNotAllowed", `${req.method}`));
    }

    const core = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(url.pathname);
    if (core) {
      const [, namespace, name] = core as unknown as [string, string, string];
      const key = `${namespace}/${name}`;
      if (req.method === "GET") {
        const found = secrets.get(key);
        if (!found) return send(res, 404, status(404, "NotFound", `secrets "${name}" not found`));
        return send(res, 200, found);
      }
      if (req.method === "PATCH") {
        if (contentType !== "application/apply-patch+yaml") {
          return send(res, 415, status(415, "UnsupportedMediaType", `${contentType}`));
        }
        if (!url.searchParams.get("fieldManager")) {
          return send(
            res,
            400,
            status(400, "BadRequest", "PATCH requests for apply must have fieldManager"),
          );
        }
        const applied = body as KubeObject;
        const existing = secrets.get(key);
        const object = {
          apiVersion: "v1",
          kind: "Secret",
          type: applied.type ?? "Opaque",
          data: applied.data ?? {},
          metadata: {
            name,
            namespace,
            labels: applied.metadata?.labels ?? {},
            annotations: applied.metadata?.annotations ?? {},
            uid: existing?.metadata.uid ?? `uid-${name}`,
            resourceVersion: nextVersion(),
          },
        };
        secrets.set(key, object);
        return send(res, existing ? 200 : 201, object);
      }
      return send(res, 405, status(405, "MethodNotAllowed", `${req.method}`));
    }
    return send(
      res,
      404,
      status(404, "NotFound", "the server could not find the requested resource"),
    );
  };

  const server: Server = createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
    });
    req.on("end", () => handle(req, res, text));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    writeKubeconfig(dir, options = {}) {
      const file = join(dir, "kubeconfig");
      const config = {
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "fake",
            cluster: {
              server: url,
              "certificate-authority-data": Buffer.from(ca.cert).toString("base64"),
            },
          },
        ],
        users: [{ name: "strongroom", user: { token: TOKEN } }],
        contexts: [
          {
            name: "fake",
            context: {
              cluster: "fake",
              user: "strongroom",
              ...(options.namespace && { namespace: options.namespace }),
            },
          },
        ],
        "current-context": "fake",
      };
      // JSON is YAML: client-node reads it like kubectl's own files.
      writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
      return file;
    },
    addWorkload(kind, namespace, name, options = {}) {
      const replicas = options.replicas ?? 2;
      const object = {
        apiVersion: "apps/v1",
        kind: WORKLOAD_KINDS[kind],
        metadata: { name, namespace, generation: 1, resourceVersion: nextVersion() },
        spec: {
          ...(kind !== "daemonsets" && { replicas }),
          ...(options.paused && { paused: true }),
          ...(kind !== "deployments" && { updateStrategy: { type: "RollingUpdate" } }),
          selector: { matchLabels: { app: name } },
          template: {
            metadata: { labels: { app: name } },
            spec: { containers: [{ name, image: `${name}:1` }] },
          },
        },
        status: initialStatus(kind, replicas),
      };
      workloads.set(`${kind}/${namespace}/${name}`, {
        kind,
        object,
        behaviour: options.behaviour ?? "healthy",
      });
    },
    workload: (kind, namespace, name) => workloads.get(`${kind}/${namespace}/${name}`)?.object,
    secret: (namespace, name) => secrets.get(`${namespace}/${name}`),
    writesSince: (since) => requests.slice(since).filter((r) => r.method !== "GET"),
    failWith(code, reason = "Forbidden", message = "refused") {
      failure = code === undefined ? undefined : { code, reason, message };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

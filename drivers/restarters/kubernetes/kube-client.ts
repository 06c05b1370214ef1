/**
 * The Kubernetes connection the `kubernetes` restarter and the `kubernetes-secret` sink share,
 * found as kubectl finds it: `kubeconfig` from the stanza, else `KUBECONFIG`, else
 * ~/.kube/config, else the pod's service account (in-cluster). API failures become one line
 * (status, reason, the API server's message), never a request body.
 */
import { ApiException, KubeConfig } from "@kubernetes/client-node";
import { type Stanza, StanzaProblem } from "../stanza.js";

export {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";

/** Stanza keys every Kubernetes driver takes. */
export const CONNECTION_KEYS = ["kubeconfig", "context", "namespace"] as const;

/** A DNS-1123 subdomain: Kubernetes object names (Secrets, Deployments, ...). */
export const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A DNS-1123 label: namespaces. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface Connection {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

const optionalString = (stanza: Stanza, key: string): string | undefined => {
  const value = stanza[key];
  if (value === undefined) return undefined;
  if (typeof value === "string" && value !== "") return value;
  throw new StanzaProblem(`"${key}" must be a non-empty string`);
};

/** The connection keys of a stanza, checked. */
export function parseConnection(stanza: Stanza): Connection {
  const namespace = optionalString(stanza, "namespace");
  if (namespace !== undefined && (!NAMESPACE_NAME.test(namespace) || namespace.length > 63)) {
    throw new StanzaProblem(`"namespace" is not a Kubernetes namespace name`);
  }
  const kubeconfig = optionalString(stanza, "kubeconfig");
  const context = optionalString(stanza, "context");
  return {
    ...(kubeconfig !== undefined && { kubeconfig }),
    ...(context !== undefined && { context }),
    ...(namespace !== undefined && { namespace }),
  };
}

export interface Cluster {
  config: KubeConfig;
  /** The stanza's namespace, else the context's (the service account's in a pod), else "default". */
  namespace: string;
}

/** Loads the connection; throws `fail(reason)` when there is none or it cannot be read. */
export function connect(connection: Connection, fail: (reason: string) => Error): Cluster {
  const config = new KubeConfig();
  try {
    if (connection.kubeconfig) config.loadFromFile(connection.kubeconfig);
    else config.loadFromDefault();
    if (connection.context) config.setCurrentContext(connection.context);
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? firstLine(error);
    throw fail(`cannot load the Kubernetes configuration (${why})`);
  }
  const cluster = config.getCurrentCluster();
  // client-node's last resort is an unauthenticated http://localhost:8080: not a connection.
  if (!cluster || (cluster.name === "cluster" && cluster.server === "http://localhost:8080")) {
    throw fail(
      "no Kubernetes connection: set KUBECONFIG (or the stanza's kubeconfig), or run in a pod with a service account",
    );
  }
  const context = config.getContextObject(config.getCurrentContext());
  return {
    config,
    namespace: connection.namespace ?? context?.namespace?.trim() ?? "default",
  };
}

export const isNotFound = (error: unknown): boolean =>
  error instanceof ApiException && error.code === 404;

/** API server messages that name objects and permissions, never a request's content. */
const SAFE_MESSAGE_CODES: ReadonlySet<number> = new Set([401, 403, 404, 409]);

/**
 * One line about a failed API call: "HTTP 403 Forbidden: <the API server's message>". With
 * `bodyMayHoldSecrets`, other statuses (a 422 may quote a field) give the reason alone.
 */
export function apiProblem(error: unknown, options: { bodyMayHoldSecrets?: boolean } = {}): string {
  if (error instanceof ApiException) {
    const status = parseStatus(error.body);
    const reason = status.reason ? ` ${status.reason}` : "";
    const quiet = options.bodyMayHoldSecrets && !SAFE_MESSAGE_CODES.has(error.code);
    const message = status.message && !quiet ? `: ${status.message}` : "";
    return `HTTP ${error.code}${reason}${message}`.slice(0, 300);
  }
  const code = (error as NodeJS.ErrnoException)?.code;
  return code ? `${code}: ${firstLine(error)}` : firstLine(error);
}

/** A Kubernetes `Status` object from an error body (a JSON string or already parsed). */
function parseStatus(body: unknown): { reason?: string; message?: string } {
  let value = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch {
      return {};
    }
  }
  if (typeof value !== "object" || value === null) return {};
  const { reason, message } = value as Record<string, unknown>;
  return {
    ...(typeof reason === "string" && { reason }),
    ...(typeof message === "string" && { message: message.split("\n")[0]! }),
  };
}

const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 200);

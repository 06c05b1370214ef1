import { request } from "node:https";
import { BrokerAnswerError, ERRORS, type StrongroomError } from "../lib/errors.js";
import { type BrokerState, identityFiles, STATE_FILES, StateDir } from "../state/state-dir.js";

export interface BrokerResponse {
  status: number;
  contentType: string;
  text: string;
}

/** The operator's HTTPS client for the running broker, set up from the state dir. */
export interface BrokerClient {
  readonly state: BrokerState;
  readonly dir: StateDir;
  send(method: string, path: string, body?: unknown): Promise<BrokerResponse>;
  /** Sends and parses JSON; a non-2xx answer becomes a one-line StrongroomError. */
  json<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** Sends and returns the text body; a non-2xx answer becomes a one-line StrongroomError. */
  text(method: string, path: string): Promise<string>;
}

const TIMEOUT_MS = 120_000;

export function connectBroker(stateDirPath: string): BrokerClient {
  const dir = StateDir.open(stateDirPath);
  const state = dir.readState()!;
  const operator = identityFiles({ kind: "operator" });
  const client = createBrokerClient({
    url: state.broker.url,
    ca: dir.read(STATE_FILES.caCert),
    ...(dir.has(operator.cert) && { cert: dir.read(operator.cert), key: dir.read(operator.key) }),
    token: dir.readText(STATE_FILES.operatorToken).trim(),
  });
  return { state, dir, ...client };
}

export interface BrokerConnection {
  url: string;
  ca: Buffer;
  /** A client certificate and key (a service's kit identity, or the operator's). */
  cert?: Buffer;
  key?: Buffer;
  token?: string;
}

/** An HTTPS client for the broker at `url`, from any identity (state dir or service kit). */
export function createBrokerClient(
  connection: BrokerConnection,
): Pick<BrokerClient, "send" | "json" | "text"> {
  const tls = {
    ca: connection.ca,
    ...(connection.cert && connection.key && { cert: connection.cert, key: connection.key }),
  };
  const send = (method: string, path: string, body?: unknown) =>
    new Promise<BrokerResponse>((resolve, reject) => {
      const url = new URL(path, connection.url);
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), "utf8");
      const req = request(
        url,
        {
          method,
          ...tls,
          headers: {
            ...(connection.token && { authorization: `Bearer ${connection.token}` }),
            accept: "application/json, text/plain",
            ...(payload
              ? { "content-type": "application/json", "content-length": payload.length }
              : {}),
          },
          timeout: TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers["content-type"] ?? ""),
              text: Buffer.concat(chunks).toString("utf8"),
            }),
          );
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", (error: NodeJS.ErrnoException) => reject(unreachable(connection.url, error)));
      req.end(payload);
    });

  const checked = async (method: string, path: string, body?: unknown) => {
    const response = await send(method, path, body);
    if (response.status < 200 || response.status >= 300) throw brokerError(response);
    return response;
  };

  return {
    send,
    async json<T>(method: string, path: string, body?: unknown) {
      return JSON.parse((await checked(method, path, body)).text) as T;
    },
    async text(method: string, path: string) {
      return (await checked(method, path)).text;
    },
  };
}

/** Encodes each path segment: names come from the command line. */
export function brokerPath(...segments: string[]): string {
  return `/v1/${segments.map(encodeURIComponent).join("/")}`;
}

function brokerError(response: BrokerResponse): StrongroomError {
  let code: string | undefined;
  let message = `the broker answered HTTP ${response.status}`;
  try {
    const body = JSON.parse(response.text) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // not JSON: keep the status line
  }
  return new BrokerAnswerError(response.status, code, message);
}

function unreachable(url: string, error: NodeJS.ErrnoException): StrongroomError {
  const why = error.code === "ECONNREFUSED" ? "connection refused" : (error.code ?? error.message);
  return ERRORS.STRONGROOM_ERR_BROKER_DOWN(
    `the broker at ${url} is not reachable (${why}): is \`strongroom up\` running?`,
  );
}

import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { request } from "node:https";
import type { Readable } from "node:stream";
import { BrokerAnswerError, ERRORS, type StrongroomError } from "../lib/errors.js";
import { type BrokerState, identityFiles, STATE_FILES, StateDir } from "../state/state-dir.js";

export interface BrokerResponse {
  status: number;
  contentType: string;
  text: string;
}

/** A 2xx answer whose body is read as it arrives (an export bundle of any size). */
export interface BrokerStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body: read it once (pipe or iterate it); it errors when the broker cuts it short. */
  readonly body: Readable;
  /** A trailer, once the body has ended complete; undefined before, or when it was cut short. */
  trailer(name: string): string | undefined;
}

/** An HTTPS client for the running broker (the operator's, or a service kit's). */
export interface BrokerRequests {
  send(method: string, path: string, body?: unknown): Promise<BrokerResponse>;
  /** Sends and parses JSON; a non-2xx answer becomes a one-line StrongroomError. */
  json<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** Sends and returns the text body; a non-2xx answer becomes a one-line StrongroomError. */
  text(method: string, path: string): Promise<string>;
  /**
   * Sends and resolves with the answer's headers as soon as they arrive, the body as a stream; a
   * non-2xx answer becomes the same one-line StrongroomError as json() and text().
   */
  stream(
    method: string,
    path: string,
    body?: unknown,
    options?: { accept?: string },
  ): Promise<BrokerStream>;
}

/** The operator's client, set up from the state dir. */
export interface BrokerClient extends BrokerRequests {
  readonly state: BrokerState;
  readonly dir: StateDir;
}

export interface BrokerConnection {
  url: string;
  ca: Buffer;
  /** A client certificate and key (a service's kit identity, or the operator's). */
  cert?: Buffer;
  key?: Buffer;
  token?: string;
}

/** Between bytes, not in all: a long export is fine as long as it never stalls that long. */
const TIMEOUT_MS = 120_000;
const ACCEPT = "application/json, text/plain";

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

/** An HTTPS client for the broker at `url`, from any identity (state dir or service kit). */
export function createBrokerClient(connection: BrokerConnection): BrokerRequests {
  const tls = {
    ca: connection.ca,
    ...(connection.cert && connection.key && { cert: connection.cert, key: connection.key }),
  };

  /** Resolves with the response once its headers arrived; its body is the caller's to read. */
  const open = (method: string, path: string, body: unknown, accept: string) =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const url = new URL(path, connection.url);
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), "utf8");
      const req = request(
        url,
        {
          method,
          ...tls,
          headers: {
            ...(connection.token && { authorization: `Bearer ${connection.token}` }),
            accept,
            ...(payload
              ? { "content-type": "application/json", "content-length": payload.length }
              : {}),
          },
          timeout: TIMEOUT_MS,
        },
        resolve,
      );
      // After the headers, a timeout or a reset surfaces as an error of the response body.
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", (error: NodeJS.ErrnoException) => reject(unreachable(connection.url, error)));
      req.end(payload);
    });

  const send = async (method: string, path: string, body?: unknown) =>
    readAll(await open(method, path, body, ACCEPT));

  const checked = async (method: string, path: string, body?: unknown) => {
    const response = await send(method, path, body);
    if (!isSuccess(response.status)) throw brokerError(response);
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
    async stream(method, path, body, options = {}) {
      const response = await open(method, path, body, options.accept ?? ACCEPT);
      const status = response.statusCode ?? 0;
      if (!isSuccess(status)) throw brokerError(await readAll(response));
      return {
        status,
        headers: response.headers,
        body: response,
        trailer(name) {
          const value = response.complete ? response.trailers[name.toLowerCase()] : undefined;
          return typeof value === "string" ? value : undefined;
        },
      };
    },
  };
}

const isSuccess = (status: number) => status >= 200 && status < 300;

function readAll(response: IncomingMessage): Promise<BrokerResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () =>
      resolve({
        status: response.statusCode ?? 0,
        contentType: String(response.headers["content-type"] ?? ""),
        text: Buffer.concat(chunks).toString("utf8"),
      }),
    );
    response.on("error", reject);
  });
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

import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server,
  type Socket,
} from "node:net";
import { createServer as createTlsServer } from "node:tls";
import {
  type ConnectionLimits,
  capConnections,
  closeFailedHandshakes,
  resolveConnectionLimits,
} from "../../lib/connection-limits.js";
import { answerUnparsedRequest } from "../../lib/raw-http-answer.js";
import type { CoreRequest, VaultCore } from "../core.js";
import type { HttpAnswer } from "../envelope.js";
import { parseGoBool } from "../go-bool.js";
import { ConnectionDeadlines } from "./connection-deadlines.js";
import { LIST_MARKER_HEADER, ListVerbSocket, rewriteListVerbInPlace } from "./list-verb.js";

export const MAX_BODY_BYTES = 1024 * 1024;

export interface VaultHttpServerOptions {
  host: string;
  port: number;
  core: VaultCore;
  tls?: { cert: Buffer; key: Buffer };
  /** Timeouts and connection caps; DEFAULT_CONNECTION_LIMITS for what is left out. */
  limits?: Partial<ConnectionLimits>;
}

export interface VaultHttpServer {
  /** "http://127.0.0.1:8200" or "https://..." */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

class HttpInputError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Serves the Vault HTTP API (`/v1/...`) over plain TCP or TLS on one address. */
export async function startVaultHttpServer(
  options: VaultHttpServerOptions,
): Promise<VaultHttpServer> {
  // Node emits pipelined requests without waiting for earlier answers; Go's server (so Vault)
  // handles one connection's requests in order, so a read pipelined after a write sees it.
  const pending = new WeakMap<object, Promise<void>>();
  const limits = resolveConnectionLimits(options.limits);
  const deadlines = new ConnectionDeadlines(limits);
  const http = createHttpServer(
    { keepAliveTimeout: limits.idleTimeoutMs, requestTimeout: limits.requestTimeoutMs },
    (req, res) => {
      deadlines.requestStarted(req.socket);
      res.once("close", () => deadlines.requestAnswered(req.socket));
      const run = () =>
        serve(options.core, req, res).catch(() => {
          res.destroy();
        });
      const previous = pending.get(req.socket);
      const current = previous ? previous.then(run) : run();
      pending.set(req.socket, current);
    },
  );
  http.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    // Even a request Node's parser refuses (unknown method, bad header) gets the errors envelope.
    const [status, reason, message] =
      error.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", "request headers too large"]
        : error.code === "HPE_INVALID_METHOD"
          ? [405, "Method Not Allowed", "unsupported operation"]
          : [400, "Bad Request", "malformed HTTP request"];
    answerUnparsedRequest(socket, error, {
      status,
      reason,
      body: JSON.stringify({ errors: [message] }),
    });
  });
  const sockets = new Set<Socket>();
  const hand = (socket: Socket) => {
    if (socket.destroyed) return;
    sockets.add(socket);
    const connection = rewriteListVerbInPlace(socket) ? socket : new ListVerbSocket(socket);
    deadlines.opened(connection, () => socket.destroy());
    socket.once("close", () => {
      sockets.delete(socket);
      deadlines.closed(connection);
    });
    http.emit("connection", connection);
  };
  const server: Server = options.tls
    ? closeFailedHandshakes(
        createTlsServer(
          {
            cert: options.tls.cert,
            key: options.tls.key,
            minVersion: "TLSv1.2",
            handshakeTimeout: limits.handshakeTimeoutMs,
          },
          hand,
        ),
      )
    : createNetServer({ noDelay: true }, hand);
  capConnections(server, limits);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    address: `${options.tls ? "https" : "http"}://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

async function serve(core: VaultCore, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let answer: HttpAnswer;
  try {
    const request = await decode(req);
    answer = await core.handle(request);
  } catch (error) {
    if (error instanceof HttpInputError) {
      answer = { status: error.status, body: { errors: [error.message] } };
      if (error.status === 413) res.setHeader("Connection", "close");
    } else {
      answer = core.errorAnswer(error);
    }
  }
  send(req, res, answer);
}

function send(req: IncomingMessage, res: ServerResponse, answer: HttpAnswer): void {
  // Header objects are written out as literals: V8 gives a spread-then-extended object a new
  // hidden class every time, which made building them a visible cost per request.
  if (answer.body === undefined || req.method === "HEAD") {
    res.writeHead(
      answer.status,
      answer.body === undefined
        ? { "Cache-Control": "no-store" }
        : { "Cache-Control": "no-store", "Content-Type": "application/json" },
    );
    res.end();
    return;
  }
  const payload = JSON.stringify(answer.body);
  // hvac reads `errors` only when the Content-Type is exactly application/json.
  res.writeHead(answer.status, {
    "Cache-Control": "no-store",
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** A "." or ".." path segment. */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

async function decode(req: IncomingMessage): Promise<CoreRequest> {
  const url = req.url ?? "/";
  const queryStart = url.indexOf("?");
  const pathname = queryStart === -1 ? url : url.slice(0, queryStart);
  const search = queryStart === -1 ? undefined : new URLSearchParams(url.slice(queryStart + 1));
  if (!pathname.startsWith("/v1/")) throw new HttpInputError(404, "unsupported path");
  let path: string;
  try {
    path = decodeURIComponent(pathname.slice(4)).replace(/^\/+/, "");
  } catch {
    throw new HttpInputError(400, "invalid path: bad percent-encoding");
  }
  if (path.includes("\0")) throw new HttpInputError(400, "invalid path: contains a NUL byte");
  if (DOT_SEGMENT.test(path)) {
    throw new HttpInputError(400, "invalid path: cannot contain '.' or '..' segments");
  }
  const namespace = header(req, "x-vault-namespace")?.replace(/^\/+|\/+$/g, "");
  if (namespace && namespace !== "root") path = `${namespace}/${path}`;

  // Null prototype: a "__proto__" parameter stays a parameter, "constructor" finds only its own.
  const query: Record<string, string> = Object.create(null);
  if (search) for (const [key, value] of search) query[key] = value;
  const method = (req.method ?? "GET").toUpperCase();
  const list =
    header(req, LIST_MARKER_HEADER) !== undefined ||
    (method === "GET" && parseListFlag(query.list));
  if (
    method === "PATCH" &&
    !(header(req, "content-type") ?? "").includes("application/merge-patch+json")
  ) {
    await readBody(req);
    throw new HttpInputError(415, "PATCH requires Content-Type: application/merge-patch+json");
  }

  const body = await readBody(req);
  return {
    method,
    list,
    path,
    query,
    data: parseBody(body, header(req, "content-type")),
    clientToken: token(req),
    remoteAddress: req.socket.remoteAddress ?? "",
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function token(req: IncomingMessage): string | undefined {
  const vaultToken = header(req, "x-vault-token");
  if (vaultToken) return vaultToken;
  const authorization = header(req, "authorization");
  if (authorization?.toLowerCase().startsWith("bearer ")) return authorization.slice(7).trim();
  return undefined;
}

/** `?list=` as Vault reads it (Go's strconv.ParseBool; absent or empty is false). */
function parseListFlag(value: string | undefined): boolean {
  if (value === undefined || value === "") return false;
  const flag = parseGoBool(value);
  if (flag !== undefined) return flag;
  throw new HttpInputError(
    400,
    `error parsing list parameter: strconv.ParseBool: parsing "${value}": invalid syntax`,
  );
}

const NO_BODY = Buffer.alloc(0);

function readBody(req: IncomingMessage): Promise<Buffer> {
  const length = header(req, "content-length");
  // Most reads carry no body: skip the stream machinery (Node discards it on response end).
  if ((length === undefined || length === "0") && header(req, "transfer-encoding") === undefined) {
    return Promise.resolve(NO_BODY);
  }
  if (Number(length ?? "0") > MAX_BODY_BYTES) {
    req.resume();
    return Promise.reject(new HttpInputError(413, "http: request body too large"));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners("data");
        req.resume();
        reject(new HttpInputError(413, "http: request body too large"));
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once("error", reject);
  });
}

function parseBody(body: Buffer, contentType: string | undefined): Record<string, unknown> {
  if (body.length === 0) return {};
  const text = body.toString("utf8");
  // Like Vault, sniff the body: curl -d sends JSON labelled as a form.
  if (
    contentType?.includes("application/x-www-form-urlencoded") &&
    !text.trimStart().startsWith("{")
  ) {
    return Object.fromEntries(new URLSearchParams(text));
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // V8's message quotes the input, which may hold a secret: never echo it.
    throw new HttpInputError(400, "failed to parse JSON input: invalid JSON");
  }
  if (parsed === null) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new HttpInputError(400, "failed to parse JSON input: the body must be a JSON object");
  }
  if (nestedDeeperThan(text, MAX_JSON_DEPTH)) {
    throw new HttpInputError(400, "failed to parse JSON input: exceeded max depth");
  }
  return parsed as Record<string, unknown>;
}

/**
 * Go's decoder (so Vault) refuses JSON nested deeper than 10000; the recursive steps after
 * parsing here (JSON.stringify for storage, merge patch, audit hashing) overflow the stack
 * well before that, which would be a 500. No secret is nested anywhere near this deep.
 */
const MAX_JSON_DEPTH = 1000;

/** Scans already-validated JSON text for its bracket depth, skipping strings. */
function nestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

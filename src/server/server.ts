import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import {
  type ConnectionLimits,
  capConnections,
  closeFailedHandshakes,
  DEFAULT_CONNECTION_LIMITS,
  resolveConnectionLimits,
} from "../lib/connection-limits.js";
import { configError } from "../lib/errors.js";
import { type BrokerAppDeps, buildBrokerApp, SERVER_TIMEOUTS } from "./app.js";

export interface BrokerTls {
  cert: string | Buffer;
  key: string | Buffer;
  /** The CA that issues service client certificates. */
  ca: string | Buffer;
}

export interface StartBrokerServerOptions {
  deps: BrokerAppDeps;
  host: string;
  port: number;
  /** TLS is the default; `false` serves plain HTTP and must be asked for explicitly. */
  tls: BrokerTls | false;
  /** Timeouts and connection caps; BROKER_CONNECTION_LIMITS for what is left out. */
  connectionLimits?: Partial<ConnectionLimits>;
}

/** Only a request's reception is timed: an export may stream its answer for longer. */
export const BROKER_CONNECTION_LIMITS: ConnectionLimits = {
  ...DEFAULT_CONNECTION_LIMITS,
  requestTimeoutMs: SERVER_TIMEOUTS.requestTimeout,
  idleTimeoutMs: SERVER_TIMEOUTS.keepAliveTimeout,
};

export interface RunningBrokerServer {
  /** "https://127.0.0.1:8443" */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Listens with the broker app: HTTPS asking every client for a certificate, tokens as fallback. */
export async function startBrokerServer(
  options: StartBrokerServerOptions,
): Promise<RunningBrokerServer> {
  const { tls } = options;
  const limits = resolveConnectionLimits(options.connectionLimits, BROKER_CONNECTION_LIMITS);
  const timeouts = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    // Node checks the headers and request deadlines on this period (30 s by default).
    connectionsCheckingInterval: Math.min(5_000, limits.headersTimeoutMs / 4),
  };
  const app = buildBrokerApp(options.deps, {
    serverFactory: (handler) => {
      const server: Server =
        tls === false
          ? createHttpServer(timeouts, handler)
          : closeFailedHandshakes(
              createHttpsServer(
                {
                  ...timeouts,
                  cert: tls.cert,
                  key: tls.key,
                  ca: tls.ca,
                  minVersion: "TLSv1.2",
                  handshakeTimeout: limits.handshakeTimeoutMs,
                  // Ask for a certificate but let the request through without a valid one: it may
                  // carry a token instead. Only `socket.authorized` certificates identify anyone.
                  requestCert: true,
                  rejectUnauthorized: false,
                },
                handler,
              ),
            );
      capConnections(server, limits);
      return server;
    },
  });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await app.close();
    throw listenError(err, options.host, options.port);
  }
  const { port } = app.server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    address: `${tls === false ? "http" : "https"}://${host}:${port}`,
    port,
    close: () => app.close(),
  };
}

const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: "the address is in use (another strongroom up, or another program)",
  EACCES: "permission denied (ports below 1024 need privileges)",
  EADDRNOTAVAIL: "no interface of this host has that address",
};

/** A listen failure as one line that says what to do; anything else is passed on as it is. */
function listenError(err: unknown, host: string, port: number): unknown {
  const problem = LISTEN_PROBLEMS[(err as NodeJS.ErrnoException)?.code ?? ""];
  if (problem === undefined) return err;
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return configError(
    `the broker cannot listen on ${address}: ${problem}; choose another with --listen HOST:PORT`,
    err,
  );
}

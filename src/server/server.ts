import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
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
}

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
  const app = buildBrokerApp(
    options.deps,
    tls === false
      ? {}
      : {
          serverFactory: (handler) => {
            const server = createServer(
              {
                cert: tls.cert,
                key: tls.key,
                ca: tls.ca,
                minVersion: "TLSv1.2",
                // Ask for a certificate but let the request through without a valid one: it may
                // carry a token instead. Only `socket.authorized` certificates identify anyone.
                requestCert: true,
                rejectUnauthorized: false,
              },
              handler,
            );
            return Object.assign(server, SERVER_TIMEOUTS);
          },
        },
  );
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

import type { Server, Socket } from "node:net";
import type { TLSSocket, Server as TlsServer } from "node:tls";

/** How long a client may take at each step of a connection, and how many it may hold. */
export interface ConnectionLimits {
  /** From TCP accept to a finished TLS handshake. */
  handshakeTimeoutMs: number;
  /** From the connection (or the end of the previous answer) to a request's last header. */
  headersTimeoutMs: number;
  /** From a request's headers to the end of its body (the embedded Vault: to its answer). */
  requestTimeoutMs: number;
  /** A kept-alive connection between requests. */
  idleTimeoutMs: number;
  /** Open connections in all. */
  maxConnections: number;
  /** Open connections from one remote address. */
  maxConnectionsPerAddress: number;
}

/**
 * A slow or silent client is closed within seconds; one address cannot hold every connection.
 * The per-address cap stays generous: on a TripleO node every container shares one address.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  idleTimeoutMs: 65_000,
  maxConnections: 4096,
  maxConnectionsPerAddress: 512,
};

export function resolveConnectionLimits(
  overrides: Partial<ConnectionLimits> = {},
  defaults: ConnectionLimits = DEFAULT_CONNECTION_LIMITS,
): ConnectionLimits {
  return { ...defaults, ...overrides };
}

/**
 * Caps a server's open connections in total (Node closes the excess before any listener sees
 * it) and per remote address (closed here, before TLS or HTTP read a byte).
 */
export function capConnections(
  server: Server,
  caps: Pick<ConnectionLimits, "maxConnections" | "maxConnectionsPerAddress">,
): void {
  server.maxConnections = caps.maxConnections;
  const perAddress = new Map<string, number>();
  server.prependListener("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "";
    const open = perAddress.get(address) ?? 0;
    if (open >= caps.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    perAddress.set(address, open + 1);
    socket.once("close", () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
  });
}

/**
 * Node reports a failed or timed-out handshake (handshakeTimeout) as "tlsClientError" but leaves
 * the TCP connection open: a client that never speaks TLS would hold it forever.
 */
export function closeFailedHandshakes<T extends TlsServer>(server: T): T {
  server.on("tlsClientError", (_error: Error, socket: TLSSocket) => socket.destroy());
  return server;
}

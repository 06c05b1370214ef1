import { usageError } from "../lib/errors.js";
import { isLoopback } from "../lib/loopback.js";

/** Where `up` serves the broker unless told otherwise (or a previous run chose). */
export const DEFAULT_LISTEN = "127.0.0.1:8443";

/** Parses "host:port", "[v6]:port" or ":port" (loopback). */
export function parseListenAddress(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  if (!match) throw usageError(`invalid listen address "${value}": expected HOST:PORT`);
  const host = match[1] ?? (match[2] || "127.0.0.1");
  const port = Number(match[3]);
  if (port > 65535) throw usageError(`invalid listen address "${value}": port out of range`);
  return { host, port };
}

export { isLoopback };

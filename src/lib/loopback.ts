import { isIP } from "node:net";

/** localhost, 127.0.0.0/8 or ::1: an address that never leaves this machine. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

import type { FastifyRequest } from "fastify";
import type { AuditEvent } from "../lib/audit-log.js";
import { fetcherOf } from "./auth.js";

/** Appends one record to the broker's audit log (src/lib/audit-log.ts). */
export type AuditRecorder = (event: AuditEvent) => void;

export const NO_AUDIT: AuditRecorder = () => {};

/** Who made an authenticated request, for its audit record: never a credential. */
export function requester(request: FastifyRequest): {
  identity: string;
  via?: string;
  address: string;
} {
  const fetcher = fetcherOf(request);
  if (fetcher)
    return { identity: `service:${fetcher.identity}`, via: fetcher.via, address: request.ip };
  return { identity: request.principal?.kind ?? "anonymous", address: request.ip };
}

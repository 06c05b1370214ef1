/**
 * KV secrets engine version 1 (Vault's passthrough backend): the request body is stored as is,
 * as JSON under its path in the mount's storage view.
 */
import { badRequest, notFound, unsupportedOperation } from "../errors.js";
import type { LogicalBackend, LogicalRequest, LogicalResponse } from "../types.js";
import { parseDurationSeconds } from "./kv-time.js";

function handle(req: LogicalRequest): LogicalResponse {
  const key = req.path;
  switch (req.operation) {
    case "read": {
      const data = req.storage.getJSON<Record<string, unknown>>(key);
      if (data === undefined) throw notFound();
      return { data, leaseDuration: leaseTtl(req, data) };
    }
    case "create":
    case "update":
      if (key === "") throw badRequest("missing path");
      if (Object.keys(req.data).length === 0) throw badRequest("missing data fields");
      req.storage.putJSON(key, req.data);
      return {};
    case "delete":
      req.storage.delete(key);
      return {};
    case "list": {
      const keys = req.storage.list(key === "" || key.endsWith("/") ? key : `${key}/`);
      if (keys.length === 0) throw notFound();
      return { data: { keys } };
    }
    default:
      throw unsupportedOperation();
  }
}

/** Vault's system default lease TTL (768h), used when the mount sets none. */
const SYSTEM_DEFAULT_LEASE_TTL = 2_764_800;

/**
 * Vault's passthrough backend answers reads with a TTL but registers no lease: the entry's own
 * `ttl` (or legacy `lease`) field when it parses as a duration, else the mount's default TTL.
 */
function leaseTtl(req: LogicalRequest, data: Record<string, unknown>): number {
  const raw = data.ttl ?? data.lease;
  const own = raw === undefined ? undefined : parseDurationSeconds(raw);
  if (own !== undefined && own >= 0) return own;
  const mountDefault = Number(req.mount.config.default_lease_ttl ?? 0);
  return Number.isFinite(mountDefault) && mountDefault > 0
    ? mountDefault
    : SYSTEM_DEFAULT_LEASE_TTL;
}

export function createKvV1Backend(): LogicalBackend {
  return {
    type: "kv",
    exists: (req) => req.path !== "" && req.storage.get(req.path) !== undefined,
    handle,
  };
}

import {
  badRequest,
  notFound,
  permissionDenied,
  unsupportedOperation,
  unsupportedPath,
  VaultError,
} from "../errors.js";
import type {
  LogicalBackend,
  LogicalRequest,
  LogicalResponse,
  StorageView,
  TokenEntry,
} from "../types.js";
import { nonNegativeDuration, type TokenCreateParams, type TokenStore } from "./token-store.js";

export interface TokenBackendDeps {
  policyExists(tx: StorageView, name: string): boolean;
  /** Whether the caller holds sudo on the request's full path; without it only root counts. */
  hasSudo?(req: LogicalRequest): boolean;
}

// Request-field coercion, as lenient as Vault's weak decoding; shared with the AppRole backend.

export function fieldString(data: Record<string, unknown>, name: string): string | undefined {
  const value = data[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw badRequest(`field "${name}" must be a string`);
}

export function fieldBool(data: Record<string, unknown>, name: string): boolean | undefined {
  const value = data[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") {
    const lower = value.trim().toLowerCase();
    if (["true", "t", "1"].includes(lower)) return true;
    if (["false", "f", "0", ""].includes(lower)) return false;
  }
  throw badRequest(`field "${name}" must be a boolean`);
}

export function fieldInt(data: Record<string, unknown>, name: string): number | undefined {
  const value = data[name];
  if (value === undefined || value === null || value === "") return undefined;
  const number = typeof value === "string" ? Number(value.trim()) : value;
  if (typeof number !== "number" || !Number.isInteger(number)) {
    throw badRequest(`field "${name}" must be an integer`);
  }
  return number;
}

/** Arrays or comma-separated strings (hvac sends list options comma-joined). */
export function fieldStringList(data: Record<string, unknown>, name: string): string[] | undefined {
  const value = data[name];
  if (value === undefined || value === null) return undefined;
  const items = typeof value === "string" ? value.split(",") : value;
  if (!Array.isArray(items)) throw badRequest(`field "${name}" must be a list of strings`);
  return items
    .map((item) => {
      if (typeof item !== "string") throw badRequest(`field "${name}" must be a list of strings`);
      return item.trim();
    })
    .filter((item) => item !== "");
}

export function fieldStringMap(
  data: Record<string, unknown>,
  name: string,
): Record<string, string> | undefined {
  const value = data[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw badRequest(`field "${name}" must be a map of strings`);
  }
  const out: Record<string, string> = Object.create(null);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === "string") out[key] = item;
    else if (typeof item === "number" || typeof item === "boolean") out[key] = String(item);
    else throw badRequest(`field "${name}" must be a map of strings`);
  }
  return out;
}

export function fieldDuration(data: Record<string, unknown>, name: string): number | undefined {
  const value = data[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" && typeof value !== "number") {
    throw badRequest(`field "${name}" must be a duration`);
  }
  return nonNegativeDuration(name, value);
}

export const isWrite = (req: LogicalRequest) =>
  req.operation === "create" || req.operation === "update";

const BUILTIN_POLICIES = new Set(["root", "default"]);

export function createTokenBackend(store: TokenStore, deps: TokenBackendDeps): LogicalBackend {
  const caller = (req: LogicalRequest): TokenEntry => {
    if (!req.token) throw permissionDenied();
    return req.token;
  };
  const isSudo = (req: LogicalRequest) =>
    caller(req).policies.includes("root") || deps.hasSudo?.(req) === true;

  function create(req: LogicalRequest, path: string, orphan: boolean): LogicalResponse {
    const d = req.data;
    const type = fieldString(d, "type");
    if (type !== undefined && type !== "" && type !== "service" && type !== "batch") {
      throw badRequest("invalid 'token_type' value");
    }
    const params: TokenCreateParams = {
      id: fieldString(d, "id"),
      policies: fieldStringList(d, "policies"),
      meta: fieldStringMap(d, d.meta !== undefined ? "meta" : "metadata") ?? null,
      no_parent: fieldBool(d, "no_parent"),
      no_default_policy: fieldBool(d, "no_default_policy"),
      renewable: fieldBool(d, "renewable"),
      ttl: fieldString(d, d.ttl !== undefined ? "ttl" : "lease"),
      explicit_max_ttl: fieldString(d, "explicit_max_ttl"),
      display_name: fieldString(d, "display_name"),
      num_uses: fieldInt(d, "num_uses"),
      period: fieldString(d, "period"),
      type: type === "" ? undefined : type,
      entity_alias: fieldString(d, "entity_alias"),
    };
    const entry = store.create(req.tx, params, caller(req), {
      orphan,
      path: req.mount.path + path,
      sudo: isSudo(req),
    });
    const warnings = entry.policies
      .filter((p) => !BUILTIN_POLICIES.has(p) && !deps.policyExists(req.tx, p))
      .map((p) => `Policy "${p}" does not exist`);
    return {
      data: null,
      auth: store.authResponse(entry),
      ...(warnings.length ? { warnings } : {}),
    };
  }

  function requiredToken(req: LogicalRequest): string {
    const token = fieldString(req.data, "token");
    if (!token) throw badRequest("missing token ID");
    return token;
  }

  function byAccessor(req: LogicalRequest): TokenEntry | undefined {
    const accessor = fieldString(req.data, "accessor");
    if (!accessor) throw badRequest("missing accessor");
    return store.lookupAccessor(req.tx, accessor);
  }

  function lookup(req: LogicalRequest, id: string): LogicalResponse {
    const entry = store.lookup(req.tx, id);
    if (!entry) throw new VaultError(403, ["bad token"]);
    return { data: store.lookupData(entry) };
  }

  function renew(req: LogicalRequest, entry: TokenEntry | undefined): LogicalResponse {
    if (!entry) throw badRequest("token not found");
    const increment = fieldDuration(req.data, "increment") ?? 0;
    return { data: null, auth: store.authResponse(store.renew(req.tx, entry, increment)) };
  }

  function revoke(req: LogicalRequest, id: string, orphanChildren: boolean): LogicalResponse {
    const entry = store.lookup(req.tx, id);
    if (!entry) {
      if (orphanChildren) throw badRequest("token to revoke not found");
      return {};
    }
    if (entry.type === "batch") throw badRequest("batch tokens cannot be revoked");
    store.revoke(req.tx, id, { orphanChildren });
    return {};
  }

  const writeHandlers: Record<string, (req: LogicalRequest) => LogicalResponse> = {
    create: (req) => create(req, "create", false),
    "create-orphan": (req) => create(req, "create-orphan", true),
    lookup: (req) => lookup(req, fieldString(req.data, "token") || caller(req).id),
    "lookup-self": (req) => lookup(req, caller(req).id),
    "lookup-accessor": (req) => {
      const entry = byAccessor(req);
      if (!entry) throw badRequest("invalid accessor");
      // Knowing an accessor must never reveal the token itself.
      return { data: { ...store.lookupData(entry), id: "" } };
    },
    renew: (req) => renew(req, store.lookup(req.tx, requiredToken(req))),
    "renew-self": (req) => renew(req, store.lookup(req.tx, caller(req).id)),
    "renew-accessor": (req) => {
      const entry = byAccessor(req);
      if (!entry) throw badRequest("invalid accessor");
      const response = renew(req, entry);
      if (response.auth) response.auth = { ...response.auth, client_token: "" };
      return response;
    },
    revoke: (req) => revoke(req, requiredToken(req), false),
    "revoke-self": (req) => revoke(req, caller(req).id, false),
    "revoke-orphan": (req) => revoke(req, requiredToken(req), true),
    "revoke-accessor": (req) => {
      const entry = byAccessor(req);
      if (!entry) return { warnings: ["No token found with this accessor"] };
      return revoke(req, entry.id, false);
    },
    tidy: () => ({}),
  };
  // A Map: handlers are looked up by the request path.
  const writeRoutes = new Map(Object.entries(writeHandlers));

  return {
    type: "token",
    sudoPaths: ["accessors*", "revoke-orphan*"],
    // Vault's token store has no existence checks: every POST/PUT is an "update" for the ACL.
    exists: () => true,
    handle(req: LogicalRequest): LogicalResponse {
      const path = req.path.replace(/\/+$/, "");
      if (path === "lookup-self" && req.operation === "read") return writeRoutes.get(path)!(req);
      if (path === "accessors") {
        if (req.operation !== "list") throw unsupportedOperation();
        const keys = store.listAccessors(req.tx);
        if (keys.length === 0) throw notFound();
        return { data: { keys } };
      }
      if (path === "roles" || path.startsWith("roles/")) return roles(req, path);
      if (path.startsWith("create/")) {
        if (!isWrite(req)) throw unsupportedOperation();
        throw badRequest(`unknown role ${path.slice("create/".length)}`);
      }
      const route = writeRoutes.get(path);
      if (!route) throw unsupportedPath(req.mount.path + req.path);
      if (!isWrite(req)) throw unsupportedOperation();
      return route(req);
    },
  };
}

/** Token roles are not implemented: nothing is ever stored, so reads and lists find nothing. */
function roles(req: LogicalRequest, path: string): LogicalResponse {
  if (path === "roles") {
    if (req.operation !== "list") throw unsupportedOperation();
    throw notFound();
  }
  switch (req.operation) {
    case "read":
      throw notFound();
    case "delete":
      return {};
    case "create":
    case "update":
      throw badRequest("token roles are not supported by this server");
    default:
      throw unsupportedOperation();
  }
}

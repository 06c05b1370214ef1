import { AuditBroker, type AuditDeviceConfig } from "../audit/audit-broker.js";
import {
  badRequest,
  notFound,
  permissionDenied,
  unsupportedOperation,
  VaultError,
} from "../errors.js";
import {
  AUDIT_TABLE_KEY,
  AUTH_MOUNTS_KEY,
  type MountSettings,
  mountInfo,
  newMountEntry,
  normalizeMountPath,
  normalizeSecretsEngine,
  readMounts,
  SECRET_MOUNTS_KEY,
  writeMounts,
} from "../mount-table.js";
import { normalizePolicyName, parsePolicy } from "../policy/policy.js";
import { POLICY_PREFIX, type PolicyCache, readStoredPolicy } from "../policy-cache.js";
import type {
  LogicalBackend,
  LogicalRequest,
  LogicalResponse,
  MountEntry,
  StorageView,
  TokenEntry,
} from "../types.js";
import { upgradeKvV1ToV2 } from "./kv.js";

/** Mount types that `sys/mounts` and `sys/auth` may enable. */
const SECRET_ENGINE_TYPES = new Set(["kv"]);
const AUTH_METHOD_TYPES = new Set(["approle"]);
const RESERVED_MOUNTS = ["sys/", "auth/", "cubbyhole/", "identity/"];

export interface SystemBackendDeps {
  policies: PolicyCache;
  audit: AuditBroker;
  capabilities(tx: StorageView, token: TokenEntry, path: string): string[];
  lookupToken(tx: StorageView, token: string): TokenEntry | undefined;
  lookupAccessor(tx: StorageView, accessor: string): TokenEntry | undefined;
  keyStatus(): { term: number; install_time: string };
}

type Handler = (req: LogicalRequest, match: string) => LogicalResponse;

interface Route {
  pattern: RegExp;
  operations: Partial<Record<LogicalRequest["operation"], Handler>>;
}

/** The logical part of `sys/`: mounts, auth methods, policies, audit devices, capabilities. */
export function createSystemBackend(deps: SystemBackendDeps): LogicalBackend {
  const routes: Route[] = [
    { pattern: /^mounts\/?$/, operations: { read: listSecretMounts } },
    { pattern: /^mounts\/(.+?)\/tune\/?$/, operations: tuneOps(SECRET_MOUNTS_KEY, "") },
    {
      pattern: /^mounts\/(.+)$/,
      operations: {
        read: readSecretMount,
        create: enableSecretMount,
        update: enableSecretMount,
        delete: disableMount(SECRET_MOUNTS_KEY, ""),
      },
    },
    { pattern: /^auth\/?$/, operations: { read: listAuthMounts } },
    { pattern: /^auth\/(.+?)\/tune\/?$/, operations: tuneOps(AUTH_MOUNTS_KEY, "auth/") },
    {
      pattern: /^auth\/(.+)$/,
      operations: {
        read: readAuthMount,
        create: enableAuthMount,
        update: enableAuthMount,
        delete: disableMount(AUTH_MOUNTS_KEY, "auth/"),
      },
    },
    { pattern: /^policy\/?$/, operations: { read: listPoliciesLegacy, list: listPoliciesLegacy } },
    {
      pattern: /^policy\/(.+)$/,
      operations: {
        read: (r, n) => readPolicy(r, n, "rules"),
        create: writePolicy,
        update: writePolicy,
        delete: deletePolicy,
      },
    },
    { pattern: /^policies\/acl\/?$/, operations: { list: listPolicies, read: listPolicies } },
    {
      pattern: /^policies\/acl\/(.+)$/,
      operations: {
        read: (r, n) => readPolicy(r, n, "policy"),
        create: writePolicy,
        update: writePolicy,
        delete: deletePolicy,
      },
    },
    { pattern: /^audit\/?$/, operations: { read: listAudit } },
    {
      pattern: /^audit\/(.+)$/,
      operations: { create: enableAudit, update: enableAudit, delete: disableAudit },
    },
    { pattern: /^audit-hash\/(.+)$/, operations: { create: auditHash, update: auditHash } },
    {
      pattern: /^capabilities-self$/,
      operations: { create: capabilitiesSelf, update: capabilitiesSelf },
    },
    {
      pattern: /^capabilities$/,
      operations: { create: capabilitiesOfToken, update: capabilitiesOfToken },
    },
    {
      pattern: /^capabilities-accessor$/,
      operations: { create: capabilitiesOfAccessor, update: capabilitiesOfAccessor },
    },
    { pattern: /^internal\/ui\/mounts\/?$/, operations: { read: uiMounts } },
    { pattern: /^internal\/ui\/mounts\/(.+)$/, operations: { read: uiMount } },
    { pattern: /^key-status$/, operations: { read: () => ({ data: deps.keyStatus() }) } },
  ];

  function listSecretMounts(req: LogicalRequest): LogicalResponse {
    const data: Record<string, unknown> = {};
    for (const mount of readMounts(req.tx, SECRET_MOUNTS_KEY)) data[mount.path] = mountInfo(mount);
    return { data };
  }

  function listAuthMounts(req: LogicalRequest): LogicalResponse {
    const data: Record<string, unknown> = {};
    for (const mount of readMounts(req.tx, AUTH_MOUNTS_KEY))
      data[mount.path.slice("auth/".length)] = mountInfo(mount);
    return { data };
  }

  function findMount(
    tx: StorageView,
    tableKey: string,
    path: string,
  ): { mounts: MountEntry[]; index: number } {
    const mounts = readMounts(tx, tableKey);
    return { mounts, index: mounts.findIndex((m) => m.path === path) };
  }

  function readSecretMount(req: LogicalRequest, raw: string): LogicalResponse {
    const { mounts, index } = findMount(req.tx, SECRET_MOUNTS_KEY, normalizeMountPath(raw));
    if (index === -1) throw badRequest(`No secret engine mount at ${normalizeMountPath(raw)}`);
    return { data: mountInfo(mounts[index]!) };
  }

  function readAuthMount(req: LogicalRequest, raw: string): LogicalResponse {
    const path = `auth/${normalizeMountPath(raw)}`;
    const { mounts, index } = findMount(req.tx, AUTH_MOUNTS_KEY, path);
    if (index === -1) throw badRequest(`No auth engine at ${path}`);
    return { data: mountInfo(mounts[index]!) };
  }

  function assertFreePath(tx: StorageView, path: string, kind: "secret" | "auth"): void {
    for (const reserved of kind === "secret" ? RESERVED_MOUNTS : []) {
      if (path.startsWith(reserved) || reserved.startsWith(path)) {
        throw badRequest(`cannot mount at "${path}": path is reserved`);
      }
    }
    for (const mount of [
      ...readMounts(tx, SECRET_MOUNTS_KEY),
      ...readMounts(tx, AUTH_MOUNTS_KEY),
    ]) {
      if (path.startsWith(mount.path) || mount.path.startsWith(path)) {
        throw badRequest(`path is already in use at ${mount.path}`);
      }
    }
  }

  function mountSettings(data: Record<string, unknown>): MountSettings {
    return {
      description: typeof data.description === "string" ? data.description : "",
      config: isRecord(data.config) ? data.config : {},
      local: data.local === true,
      seal_wrap: data.seal_wrap === true,
    };
  }

  function enableSecretMount(req: LogicalRequest, raw: string): LogicalResponse {
    const path = normalizeMountPath(raw);
    const rawType = typeof req.data.type === "string" ? req.data.type : "";
    if (!rawType) throw badRequest("type must be specified");
    const { type, options } = normalizeSecretsEngine(
      rawType,
      isRecord(req.data.options) ? req.data.options : null,
    );
    if (!SECRET_ENGINE_TYPES.has(type))
      throw badRequest(`plugin not found in the catalog: ${rawType}`);
    assertFreePath(req.tx, path, "secret");
    const mounts = readMounts(req.tx, SECRET_MOUNTS_KEY);
    mounts.push(newMountEntry(path, type, { ...mountSettings(req.data), options }, "secret"));
    writeMounts(req.tx, SECRET_MOUNTS_KEY, mounts);
    return {};
  }

  function enableAuthMount(req: LogicalRequest, raw: string): LogicalResponse {
    const path = `auth/${normalizeMountPath(raw)}`;
    const type = typeof req.data.type === "string" ? req.data.type : "";
    if (!type) throw badRequest("type must be specified");
    if (type === "token") throw badRequest("token credential backend cannot be instantiated");
    if (!AUTH_METHOD_TYPES.has(type)) throw badRequest(`plugin not found in the catalog: ${type}`);
    assertFreePath(req.tx, path, "auth");
    const mounts = readMounts(req.tx, AUTH_MOUNTS_KEY);
    mounts.push(newMountEntry(path, type, mountSettings(req.data), "auth"));
    writeMounts(req.tx, AUTH_MOUNTS_KEY, mounts);
    return {};
  }

  function disableMount(tableKey: string, prefix: string): Handler {
    return (req, raw) => {
      const path = prefix + normalizeMountPath(raw);
      const { mounts, index } = findMount(req.tx, tableKey, path);
      if (index === -1) return {};
      const mount = mounts[index]!;
      if (mount.type === "system" || mount.type === "token" || mount.type === "cubbyhole") {
        throw badRequest(`cannot unmount "${mount.path}"`);
      }
      for (const key of req.tx.listRecursive(mount.storagePrefix))
        req.tx.delete(mount.storagePrefix + key);
      mounts.splice(index, 1);
      writeMounts(req.tx, tableKey, mounts);
      return {};
    };
  }

  function tuneOps(tableKey: string, prefix: string): Route["operations"] {
    const read: Handler = (req, raw) => {
      const path = prefix + normalizeMountPath(raw);
      const { mounts, index } = findMount(req.tx, tableKey, path);
      if (index === -1) throw badRequest(`cannot fetch sysview for path "${path}"`);
      const mount = mounts[index]!;
      return {
        data: {
          default_lease_ttl: Number(mount.config.default_lease_ttl ?? 0) || 2764800,
          max_lease_ttl: Number(mount.config.max_lease_ttl ?? 0) || 2764800,
          force_no_cache: mount.config.force_no_cache === true,
          description: mount.description,
          options: mount.options,
        },
      };
    };
    const write: Handler = (req, raw) => {
      const path = prefix + normalizeMountPath(raw);
      const { mounts, index } = findMount(req.tx, tableKey, path);
      if (index === -1) throw badRequest(`cannot tune "${path}": no mount`);
      const mount = mounts[index]!;
      if (typeof req.data.description === "string") mount.description = req.data.description;
      for (const key of ["default_lease_ttl", "max_lease_ttl"] as const) {
        if (req.data[key] !== undefined) mount.config[key] = req.data[key];
      }
      const warnings: string[] = [];
      if (isRecord(req.data.options) && mount.type === "kv") {
        const before = mount.options?.version ?? "1";
        const { options } = normalizeSecretsEngine("kv", { ...mount.options, ...req.data.options });
        const after = options?.version ?? "1";
        // As Vault: versioning cannot be turned off, and turning it on upgrades the stored data.
        if (Number(after) < Number(before)) {
          throw badRequest(`cannot downgrade mount from version ${before}`);
        }
        if (Number(after) > Number(before)) {
          upgradeKvV1ToV2(req.tx.sub(mount.storagePrefix), req.now);
          warnings.push(
            `Upgrading mount from version ${before} to version ${after}. This mount will be ` +
              "unavailable for a brief period and will resume service shortly.",
          );
        }
        mount.options = options;
      }
      writeMounts(req.tx, tableKey, mounts);
      return warnings.length > 0 ? { warnings } : {};
    };
    return { read, create: write, update: write };
  }

  function policyNames(tx: StorageView): string[] {
    const stored = tx.list(POLICY_PREFIX).filter((k) => !k.endsWith("/"));
    return [...new Set(["default", ...stored, "root"])].sort();
  }

  function listPoliciesLegacy(req: LogicalRequest): LogicalResponse {
    const names = policyNames(req.tx);
    return { data: { keys: names, policies: names } };
  }

  function listPolicies(req: LogicalRequest): LogicalResponse {
    return { data: { keys: policyNames(req.tx) } };
  }

  function readPolicy(
    req: LogicalRequest,
    raw: string,
    field: "rules" | "policy",
  ): LogicalResponse {
    const name = normalizePolicyName(raw);
    if (name === "root") return { data: { name, [field]: "" } };
    const stored = readStoredPolicy(req.tx, name);
    if (!stored) throw notFound();
    return { data: { name, [field]: stored.text } };
  }

  function writePolicy(req: LogicalRequest, raw: string): LogicalResponse {
    const name = normalizePolicyName(raw);
    if (name === "root") throw badRequest(`cannot update "root" policy`);
    const text = req.data.policy ?? req.data.rules;
    if (typeof text !== "string" || text.trim() === "")
      throw badRequest("'policy' parameter not supplied or empty");
    const policy = parsePolicy(name, text);
    req.tx.putJSON(POLICY_PREFIX + name, { name, text: policy.text });
    deps.policies.invalidate();
    return {};
  }

  function deletePolicy(req: LogicalRequest, raw: string): LogicalResponse {
    const name = normalizePolicyName(raw);
    if (name === "root") throw badRequest(`cannot delete "root" policy`);
    if (name === "default") throw badRequest("cannot delete default policy");
    req.tx.delete(POLICY_PREFIX + name);
    deps.policies.invalidate();
    return {};
  }

  function auditTable(tx: StorageView): Record<string, AuditDeviceConfig> {
    return tx.getJSON<Record<string, AuditDeviceConfig>>(AUDIT_TABLE_KEY) ?? {};
  }

  function listAudit(req: LogicalRequest): LogicalResponse {
    const data: Record<string, unknown> = {};
    for (const [path, device] of Object.entries(auditTable(req.tx))) {
      data[path] = {
        type: device.type,
        description: device.description,
        options: device.options,
        local: false,
        path,
      };
    }
    return { data };
  }

  function enableAudit(req: LogicalRequest, raw: string): LogicalResponse {
    const path = normalizeMountPath(raw);
    const table = auditTable(req.tx);
    if (table[path]) throw badRequest("path already in use");
    const options: Record<string, string> = {};
    if (isRecord(req.data.options))
      for (const [k, v] of Object.entries(req.data.options)) options[k] = String(v);
    table[path] = AuditBroker.newDevice(
      String(req.data.type ?? ""),
      typeof req.data.description === "string" ? req.data.description : "",
      options,
    );
    req.tx.putJSON(AUDIT_TABLE_KEY, table);
    return {};
  }

  function disableAudit(req: LogicalRequest, raw: string): LogicalResponse {
    const path = normalizeMountPath(raw);
    const table = auditTable(req.tx);
    delete table[path];
    req.tx.putJSON(AUDIT_TABLE_KEY, table);
    return {};
  }

  function auditHash(req: LogicalRequest, raw: string): LogicalResponse {
    const path = normalizeMountPath(raw);
    if (!auditTable(req.tx)[path]) throw badRequest("unknown audit backend");
    if (typeof req.data.input !== "string") throw badRequest("the 'input' parameter is required");
    return { data: { hash: deps.audit.hash(path, req.data.input) } };
  }

  function requestedPaths(data: Record<string, unknown>): string[] {
    const paths = data.paths ?? data.path;
    const list = Array.isArray(paths) ? paths : typeof paths === "string" ? paths.split(",") : [];
    const clean = list.map((p) => String(p).trim()).filter((p) => p !== "");
    if (clean.length === 0) throw badRequest("paths must be supplied");
    return clean;
  }

  function capabilitiesAnswer(
    tx: StorageView,
    token: TokenEntry,
    paths: string[],
  ): LogicalResponse {
    const data: Record<string, unknown> = {};
    for (const path of paths) data[path] = deps.capabilities(tx, token, path);
    if (paths.length === 1) data.capabilities = data[paths[0]!];
    return { data };
  }

  function capabilitiesSelf(req: LogicalRequest): LogicalResponse {
    if (!req.token) throw permissionDenied();
    return capabilitiesAnswer(req.tx, req.token, requestedPaths(req.data));
  }

  function capabilitiesOfToken(req: LogicalRequest): LogicalResponse {
    const token =
      typeof req.data.token === "string" ? deps.lookupToken(req.tx, req.data.token) : undefined;
    if (!token) throw badRequest("invalid token");
    return capabilitiesAnswer(req.tx, token, requestedPaths(req.data));
  }

  function capabilitiesOfAccessor(req: LogicalRequest): LogicalResponse {
    const token =
      typeof req.data.accessor === "string"
        ? deps.lookupAccessor(req.tx, req.data.accessor)
        : undefined;
    if (!token) throw badRequest("invalid accessor");
    return capabilitiesAnswer(req.tx, token, requestedPaths(req.data));
  }

  function uiMounts(req: LogicalRequest): LogicalResponse {
    if (!req.token) throw permissionDenied();
    const secret: Record<string, unknown> = {};
    const auth: Record<string, unknown> = {};
    for (const m of readMounts(req.tx, SECRET_MOUNTS_KEY)) secret[m.path] = mountInfo(m);
    for (const m of readMounts(req.tx, AUTH_MOUNTS_KEY)) auth[m.path.slice(5)] = mountInfo(m);
    return { data: { secret, auth } };
  }

  function uiMount(req: LogicalRequest, raw: string): LogicalResponse {
    if (!req.token) throw permissionDenied();
    const target = raw.endsWith("/") ? raw : `${raw}/`;
    const mount = readMounts(req.tx, SECRET_MOUNTS_KEY)
      .filter((m) => target.startsWith(m.path))
      .sort((a, b) => b.path.length - a.path.length)[0];
    if (!mount) throw permissionDenied();
    return { data: { ...mountInfo(mount), path: mount.path } };
  }

  return {
    type: "system",
    unauthenticatedPaths: ["internal/ui/mounts", "internal/ui/mounts/*"],
    exists: () => true,
    handle(req) {
      for (const route of routes) {
        const match = route.pattern.exec(req.path);
        if (!match) continue;
        const handler = route.operations[req.operation];
        if (!handler) throw unsupportedOperation();
        return handler(req, match[1] ?? "");
      }
      throw new VaultError(404, ["unsupported path"]);
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

import { createHash, randomUUID } from "node:crypto";
import { BlockList, isIP } from "node:net";
import { badRequest, notFound, unsupportedOperation, unsupportedPath } from "../errors.js";
import type { LogicalBackend, LogicalRequest, LogicalResponse, StorageView } from "../types.js";
import {
  fieldBool,
  fieldDuration,
  fieldInt,
  fieldString,
  fieldStringList,
  fieldStringMap,
  isWrite,
} from "./token-backend.js";
import type { TokenStore } from "./token-store.js";

interface RoleEntry {
  name: string;
  role_id: string;
  bind_secret_id: boolean;
  secret_id_bound_cidrs: string[];
  secret_id_num_uses: number;
  secret_id_ttl: number;
  local_secret_ids: boolean;
  token_policies: string[];
  token_ttl: number;
  token_max_ttl: number;
  token_explicit_max_ttl: number;
  token_num_uses: number;
  token_period: number;
  token_type: string;
  token_bound_cidrs: string[];
  token_no_default_policy: boolean;
}

interface SecretIdEntry {
  secret_id_accessor: string;
  secret_id_num_uses: number;
  secret_id_ttl: number;
  /** Unix seconds; expiration 0 means never. */
  creation_time: number;
  expiration_time: number;
  last_updated_time: number;
  metadata: Record<string, string>;
  cidr_list: string[];
}

interface AccessorEntry {
  role: string;
  hash: string;
}

const ROLE_NAME = /^\w(?:[\w.-]*\w)?$/;
const TOKEN_TYPES = ["default", "service", "batch", "default-service", "default-batch"];
const BATCH_TYPES = new Set(["batch", "default-batch"]);
// Same message for an unknown role ID and a bad secret ID, so role IDs cannot be enumerated.
const INVALID_CREDENTIALS = "invalid role or secret ID";
const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");
const unix = (req: LogicalRequest) => Math.floor(req.now.getTime() / 1000);
const rfc3339 = (seconds: number) =>
  seconds === 0 ? GO_ZERO_TIME : new Date(seconds * 1000).toISOString();

const roleKey = (name: string) => `role/${name}`;
const roleIdKey = (roleId: string) => `role_id/${sha256(roleId)}`;
const secretIdPrefix = (role: string) => `secret_id/${role}/`;
const accessorKey = (accessor: string) => `accessor/${accessor}`;

function defaultRole(name: string): RoleEntry {
  return {
    name,
    role_id: randomUUID(),
    bind_secret_id: true,
    secret_id_bound_cidrs: [],
    secret_id_num_uses: 0,
    secret_id_ttl: 0,
    local_secret_ids: false,
    token_policies: [],
    token_ttl: 0,
    token_max_ttl: 0,
    token_explicit_max_ttl: 0,
    token_num_uses: 0,
    token_period: 0,
    token_type: "default",
    token_bound_cidrs: [],
    token_no_default_policy: false,
  };
}

function roleData(role: RoleEntry): Record<string, unknown> {
  return {
    bind_secret_id: role.bind_secret_id,
    local_secret_ids: role.local_secret_ids,
    secret_id_bound_cidrs: role.secret_id_bound_cidrs,
    secret_id_num_uses: role.secret_id_num_uses,
    secret_id_ttl: role.secret_id_ttl,
    token_bound_cidrs: role.token_bound_cidrs,
    token_explicit_max_ttl: role.token_explicit_max_ttl,
    token_max_ttl: role.token_max_ttl,
    token_no_default_policy: role.token_no_default_policy,
    token_num_uses: role.token_num_uses,
    token_period: role.token_period,
    token_policies: role.token_policies,
    token_ttl: role.token_ttl,
    token_type: role.token_type,
    // Legacy names still read by node-vault users.
    policies: role.token_policies,
    period: role.token_period,
  };
}

/** Applies the role fields present in `d` (legacy names accepted) and validates the result. */
function applyRoleFields(role: RoleEntry, d: Record<string, unknown>, creating: boolean): void {
  const pick = <T>(value: T | undefined, fallback: T) => (value === undefined ? fallback : value);
  role.bind_secret_id = pick(fieldBool(d, "bind_secret_id"), role.bind_secret_id);
  role.secret_id_bound_cidrs = validCidrs(
    pick(
      fieldStringList(d, "secret_id_bound_cidrs") ?? fieldStringList(d, "bound_cidr_list"),
      role.secret_id_bound_cidrs,
    ),
  );
  role.secret_id_num_uses = pick(fieldInt(d, "secret_id_num_uses"), role.secret_id_num_uses);
  role.secret_id_ttl = pick(fieldDuration(d, "secret_id_ttl"), role.secret_id_ttl);
  if (creating) role.local_secret_ids = pick(fieldBool(d, "local_secret_ids"), false);
  role.token_policies = pick(
    fieldStringList(d, "token_policies") ?? fieldStringList(d, "policies"),
    role.token_policies,
  ).map((p) => p.toLowerCase());
  role.token_ttl = pick(fieldDuration(d, "token_ttl"), role.token_ttl);
  role.token_max_ttl = pick(fieldDuration(d, "token_max_ttl"), role.token_max_ttl);
  role.token_explicit_max_ttl = pick(
    fieldDuration(d, "token_explicit_max_ttl"),
    role.token_explicit_max_ttl,
  );
  role.token_num_uses = pick(fieldInt(d, "token_num_uses"), role.token_num_uses);
  role.token_period = pick(
    fieldDuration(d, "token_period") ?? fieldDuration(d, "period"),
    role.token_period,
  );
  role.token_type = pick(fieldString(d, "token_type"), role.token_type);
  role.token_bound_cidrs = pick(fieldStringList(d, "token_bound_cidrs"), role.token_bound_cidrs);
  role.token_no_default_policy = pick(
    fieldBool(d, "token_no_default_policy"),
    role.token_no_default_policy,
  );

  if (role.secret_id_num_uses < 0) throw badRequest("secret_id_num_uses cannot be negative");
  if (role.token_num_uses < 0) throw badRequest("token_num_uses cannot be negative");
  if (!TOKEN_TYPES.includes(role.token_type)) {
    throw badRequest(`invalid 'token_type' value ${JSON.stringify(role.token_type)}`);
  }
  if (BATCH_TYPES.has(role.token_type) && role.token_period > 0) {
    throw badRequest(
      "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens",
    );
  }
  if (BATCH_TYPES.has(role.token_type) && role.token_num_uses > 0) {
    throw badRequest(
      "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count",
    );
  }
  // Tokens carry no CIDR binding here, so accepting the option would silently not enforce it.
  if (role.token_bound_cidrs.length > 0) {
    throw badRequest("token_bound_cidrs is not supported by this server");
  }
  if (role.token_max_ttl > 0 && role.token_ttl > role.token_max_ttl) {
    throw badRequest("token_ttl should not be greater than token_max_ttl");
  }
  if (!role.bind_secret_id && role.secret_id_bound_cidrs.length === 0) {
    throw badRequest("at least one constraint should be enabled on the role");
  }
}

interface Cidr {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

function parseCidr(text: string): Cidr {
  const [address = "", prefixText] = text.trim().split("/");
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (version === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw badRequest(`invalid CIDR block ${JSON.stringify(text)}`);
  }
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

function validCidrs(list: string[]): string[] {
  for (const cidr of list) parseCidr(cidr);
  return list;
}

function cidrContains(outer: Cidr, address: string, family: "ipv4" | "ipv6"): boolean {
  if (outer.family !== family) return false;
  const block = new BlockList();
  block.addSubnet(outer.address, outer.prefix, outer.family);
  return block.check(address, family);
}

/** Node reports IPv4 clients of a dual-stack socket as "::ffff:a.b.c.d". */
function normalizeAddress(remote: string): { address: string; family: "ipv4" | "ipv6" } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote);
  const address = mapped ? mapped[1]! : remote;
  return { address, family: isIP(address) === 4 ? "ipv4" : "ipv6" };
}

function addressAllowed(remote: string, cidrs: string[]): boolean {
  if (cidrs.length === 0) return true;
  const { address, family } = normalizeAddress(remote);
  if (isIP(address) === 0) return false;
  return cidrs.some((cidr) => cidrContains(parseCidr(cidr), address, family));
}

function cidrSubset(inner: string[], outer: string[]): boolean {
  if (outer.length === 0) return true;
  return inner.every((text) => {
    const cidr = parseCidr(text);
    return outer.some((o) => {
      const parsed = parseCidr(o);
      return parsed.prefix <= cidr.prefix && cidrContains(parsed, cidr.address, cidr.family);
    });
  });
}

function parseMetadata(d: Record<string, unknown>): Record<string, string> {
  const raw = d.metadata;
  if (raw === undefined || raw === null || raw === "") return {};
  if (typeof raw !== "string") return fieldStringMap(d, "metadata") ?? {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest("failed to parse metadata: invalid JSON");
  }
  try {
    return fieldStringMap({ metadata: parsed }, "metadata") ?? {};
  } catch {
    throw badRequest("failed to parse metadata: values must be strings");
  }
}

export function createAppRoleBackend(store: TokenStore): LogicalBackend {
  const getRole = (storage: StorageView, name: string) =>
    storage.getJSON<RoleEntry>(roleKey(name.toLowerCase()));

  function requireRole(req: LogicalRequest, name: string): RoleEntry {
    const role = getRole(req.storage, name);
    if (!role) throw badRequest(`role ${JSON.stringify(name)} does not exist`);
    return role;
  }

  function saveRole(storage: StorageView, role: RoleEntry, previousRoleId?: string): void {
    if (role.role_id !== previousRoleId) {
      const owner = storage.getJSON<{ name: string }>(roleIdKey(role.role_id));
      if (owner && owner.name !== role.name) throw badRequest("role_id already in use");
      if (previousRoleId) storage.delete(roleIdKey(previousRoleId));
      storage.putJSON(roleIdKey(role.role_id), { name: role.name });
    }
    storage.putJSON(roleKey(role.name), role);
  }

  function deleteSecretId(storage: StorageView, role: string, hash: string): void {
    const entry = storage.getJSON<SecretIdEntry>(secretIdPrefix(role) + hash);
    if (entry) storage.delete(accessorKey(entry.secret_id_accessor));
    storage.delete(secretIdPrefix(role) + hash);
  }

  function roleCrud(req: LogicalRequest, name: string): LogicalResponse {
    const existing = getRole(req.storage, name);
    switch (req.operation) {
      case "read":
        if (!existing) throw notFound();
        return { data: roleData(existing) };
      case "create":
      case "update": {
        const role = existing ?? defaultRole(name.toLowerCase());
        const previousRoleId = existing?.role_id;
        const customRoleId = fieldString(req.data, "role_id");
        if (customRoleId !== undefined) {
          if (customRoleId.trim() === "") throw badRequest("missing role_id");
          role.role_id = customRoleId.trim();
        }
        applyRoleFields(role, req.data, !existing);
        saveRole(req.storage, role, previousRoleId);
        return {};
      }
      case "delete": {
        if (!existing) return {};
        for (const hash of req.storage.list(secretIdPrefix(existing.name))) {
          deleteSecretId(req.storage, existing.name, hash);
        }
        req.storage.delete(roleIdKey(existing.role_id));
        req.storage.delete(roleKey(existing.name));
        return {};
      }
      default:
        throw unsupportedOperation();
    }
  }

  function roleId(req: LogicalRequest, name: string): LogicalResponse {
    if (req.operation === "read") {
      const role = getRole(req.storage, name);
      if (!role) throw notFound();
      return { data: { role_id: role.role_id } };
    }
    if (!isWrite(req)) throw unsupportedOperation();
    const role = getRole(req.storage, name);
    if (!role) throw notFound();
    const next = fieldString(req.data, "role_id")?.trim();
    if (!next) throw badRequest("missing role_id");
    const previous = role.role_id;
    saveRole(req.storage, { ...role, role_id: next }, previous);
    return {};
  }

  function issueSecretId(req: LogicalRequest, name: string, secretId: string): LogicalResponse {
    const role = requireRole(req, name);
    if (!role.bind_secret_id) throw badRequest("bind_secret_id is not set on the role");
    const d = req.data;

    let numUses = role.secret_id_num_uses;
    const requestedUses = fieldInt(d, "num_uses");
    if (requestedUses !== undefined) {
      if (requestedUses < 0) throw badRequest("num_uses cannot be negative");
      const limit = role.secret_id_num_uses;
      if (limit > 0 && (requestedUses === 0 || requestedUses > limit)) {
        throw badRequest("num_uses cannot be higher than the role's secret_id_num_uses");
      }
      numUses = requestedUses;
    }
    let ttl = role.secret_id_ttl;
    const requestedTtl = fieldDuration(d, "ttl");
    if (requestedTtl !== undefined) {
      const limit = role.secret_id_ttl;
      if (limit > 0 && (requestedTtl === 0 || requestedTtl > limit)) {
        throw badRequest("ttl cannot be longer than the role's secret_id_ttl");
      }
      ttl = requestedTtl;
    }
    const cidrList = validCidrs(fieldStringList(d, "cidr_list") ?? []);
    if (!cidrSubset(cidrList, role.secret_id_bound_cidrs)) {
      throw badRequest("failed to verify the CIDR restrictions set on the secret ID");
    }
    if ((fieldStringList(d, "token_bound_cidrs") ?? []).length > 0) {
      throw badRequest("token_bound_cidrs is not supported by this server");
    }
    const metadata = parseMetadata(d);

    const key = secretIdPrefix(role.name) + sha256(secretId);
    if (req.storage.get(key) !== undefined) throw badRequest("SecretID is already registered");
    const now = unix(req);
    const entry: SecretIdEntry = {
      secret_id_accessor: randomUUID(),
      secret_id_num_uses: numUses,
      secret_id_ttl: ttl,
      creation_time: now,
      expiration_time: ttl > 0 ? now + ttl : 0,
      last_updated_time: now,
      metadata,
      cidr_list: cidrList,
    };
    req.storage.putJSON(key, entry);
    req.storage.putJSON(accessorKey(entry.secret_id_accessor), {
      role: role.name,
      hash: sha256(secretId),
    } satisfies AccessorEntry);
    return {
      data: {
        secret_id: secretId,
        secret_id_accessor: entry.secret_id_accessor,
        secret_id_ttl: ttl,
        secret_id_num_uses: numUses,
      },
    };
  }

  function secretIdData(entry: SecretIdEntry): Record<string, unknown> {
    return {
      cidr_list: entry.cidr_list,
      creation_time: rfc3339(entry.creation_time),
      expiration_time: rfc3339(entry.expiration_time),
      last_updated_time: rfc3339(entry.last_updated_time),
      metadata: entry.metadata,
      secret_id_accessor: entry.secret_id_accessor,
      secret_id_num_uses: entry.secret_id_num_uses,
      secret_id_ttl: entry.secret_id_ttl,
      token_bound_cidrs: [],
    };
  }

  /** Finds a secret ID by value (`secret_id`) or accessor (`secret_id_accessor`); expired ones are gone. */
  function findSecretId(
    req: LogicalRequest,
    role: RoleEntry,
    field: "secret_id" | "secret_id_accessor",
  ): { hash: string; entry: SecretIdEntry } | undefined {
    const value = fieldString(req.data, field)?.trim();
    if (!value) throw badRequest(`missing ${field}`);
    let hash = sha256(value);
    if (field === "secret_id_accessor") {
      const index = value.includes("/")
        ? undefined
        : req.storage.getJSON<AccessorEntry>(accessorKey(value));
      if (!index || index.role !== role.name) return undefined;
      hash = index.hash;
    }
    const entry = req.storage.getJSON<SecretIdEntry>(secretIdPrefix(role.name) + hash);
    if (!entry) return undefined;
    if (entry.expiration_time !== 0 && unix(req) >= entry.expiration_time) {
      deleteSecretId(req.storage, role.name, hash);
      return undefined;
    }
    return { hash, entry };
  }

  function secretIdOperation(
    req: LogicalRequest,
    name: string,
    field: "secret_id" | "secret_id_accessor",
    action: string,
  ): LogicalResponse {
    if (!isWrite(req) && !(action === "destroy" && req.operation === "delete")) {
      throw unsupportedOperation();
    }
    const role = requireRole(req, name);
    const found = findSecretId(req, role, field);
    if (action === "lookup") {
      if (!found) throw notFound();
      return { data: secretIdData(found.entry) };
    }
    if (found) deleteSecretId(req.storage, role.name, found.hash);
    else if (field === "secret_id_accessor") throw notFound();
    return {};
  }

  function listSecretIds(req: LogicalRequest, name: string): LogicalResponse {
    const role = requireRole(req, name);
    const keys: string[] = [];
    for (const hash of req.storage.list(secretIdPrefix(role.name))) {
      const entry = req.storage.getJSON<SecretIdEntry>(secretIdPrefix(role.name) + hash);
      if (entry) keys.push(entry.secret_id_accessor);
    }
    if (keys.length === 0) throw notFound();
    return { data: { keys: keys.sort() } };
  }

  function login(req: LogicalRequest): LogicalResponse {
    if (!isWrite(req)) throw unsupportedOperation();
    const roleIdValue = fieldString(req.data, "role_id")?.trim();
    if (!roleIdValue) throw badRequest("missing role_id");
    const index = req.storage.getJSON<{ name: string }>(roleIdKey(roleIdValue));
    const role = index ? getRole(req.storage, index.name) : undefined;
    if (!role) throw badRequest(INVALID_CREDENTIALS);

    let metadata: Record<string, string> = {};
    if (role.bind_secret_id) {
      if (!fieldString(req.data, "secret_id")?.trim()) throw badRequest("missing secret_id");
      const found = findSecretId(req, role, "secret_id");
      if (!found) throw badRequest(INVALID_CREDENTIALS);
      const remote = req.connection.remoteAddress;
      if (!addressAllowed(remote, found.entry.cidr_list)) {
        throw badRequest(
          `source address ${JSON.stringify(remote)} unauthorized by CIDR restrictions on the secret ID`,
        );
      }
      // Checked before the use is consumed, so a refused address does not burn a use.
      if (!addressAllowed(remote, role.secret_id_bound_cidrs)) throw roleCidrError(remote);
      consumeUse(req, role, found.hash, found.entry);
      metadata = { ...found.entry.metadata };
    } else if (!addressAllowed(req.connection.remoteAddress, role.secret_id_bound_cidrs)) {
      throw roleCidrError(req.connection.remoteAddress);
    }
    metadata.role_name = role.name;

    const token = store.create(
      req.tx,
      {
        policies: role.token_policies,
        no_default_policy: role.token_no_default_policy,
        meta: metadata,
        ttl: role.token_ttl,
        max_ttl: role.token_max_ttl,
        explicit_max_ttl: role.token_explicit_max_ttl,
        num_uses: role.token_num_uses,
        period: role.token_period,
        type: BATCH_TYPES.has(role.token_type) ? "batch" : "service",
        display_name: mountDisplayName(req.mount.path),
        role_name: role.name,
      },
      undefined,
      { orphan: true, path: `${req.mount.path}login` },
    );
    return { auth: store.authResponse(token) };
  }

  function consumeUse(req: LogicalRequest, role: RoleEntry, hash: string, entry: SecretIdEntry) {
    if (entry.secret_id_num_uses === 0) return;
    if (entry.secret_id_num_uses === 1) {
      deleteSecretId(req.storage, role.name, hash);
      return;
    }
    req.storage.putJSON(secretIdPrefix(role.name) + hash, {
      ...entry,
      secret_id_num_uses: entry.secret_id_num_uses - 1,
      last_updated_time: unix(req),
    });
  }

  function tidy(req: LogicalRequest): LogicalResponse {
    if (!isWrite(req)) throw unsupportedOperation();
    const now = unix(req);
    for (const key of req.storage.listRecursive("secret_id/")) {
      const entry = req.storage.getJSON<SecretIdEntry>(key);
      if (entry && entry.expiration_time !== 0 && now >= entry.expiration_time) {
        req.storage.delete(accessorKey(entry.secret_id_accessor));
        req.storage.delete(key);
      }
    }
    return {};
  }

  function roleSubPath(req: LogicalRequest, name: string, sub: string): LogicalResponse {
    switch (sub) {
      case "role-id":
        return roleId(req, name);
      case "secret-id":
        if (req.operation === "list") return listSecretIds(req, name);
        if (!isWrite(req)) throw unsupportedOperation();
        return issueSecretId(req, name, randomUUID());
      case "custom-secret-id": {
        if (!isWrite(req)) throw unsupportedOperation();
        const custom = fieldString(req.data, "secret_id")?.trim();
        if (!custom) throw badRequest("missing secret_id");
        return issueSecretId(req, name, custom);
      }
      case "secret-id/lookup":
        return secretIdOperation(req, name, "secret_id", "lookup");
      case "secret-id/destroy":
        return secretIdOperation(req, name, "secret_id", "destroy");
      case "secret-id-accessor/lookup":
        return secretIdOperation(req, name, "secret_id_accessor", "lookup");
      case "secret-id-accessor/destroy":
        return secretIdOperation(req, name, "secret_id_accessor", "destroy");
      default:
        return roleField(req, name, sub);
    }
  }

  function roleField(req: LogicalRequest, name: string, sub: string): LogicalResponse {
    const field = Object.hasOwn(FIELD_ENDPOINTS, sub) ? FIELD_ENDPOINTS[sub] : undefined;
    if (!field) throw unsupportedPath(req.mount.path + req.path);
    const role = getRole(req.storage, name);
    if (!role) throw notFound();
    const [primary, legacy] = field;
    switch (req.operation) {
      case "read": {
        const data = roleData(role);
        const out: Record<string, unknown> = { [primary]: data[primary] };
        if (legacy) out[legacy] = data[legacy];
        return { data: out };
      }
      case "create":
      case "update": {
        const given = req.data[primary] ?? (legacy ? req.data[legacy] : undefined);
        if (given === undefined) throw badRequest(`missing ${legacy ?? primary}`);
        applyRoleFields(role, { [primary]: given }, false);
        saveRole(req.storage, role, role.role_id);
        return {};
      }
      case "delete": {
        Object.assign(role, { [primary]: defaultRole(role.name)[primary] });
        applyRoleFields(role, {}, false);
        saveRole(req.storage, role, role.role_id);
        return {};
      }
      default:
        throw unsupportedOperation();
    }
  }

  return {
    type: "approle",
    unauthenticatedPaths: ["login"],
    exists(req: LogicalRequest): boolean {
      const parts = req.path.replace(/\/+$/, "").split("/");
      // Only the role itself distinguishes create from update, as in Vault.
      if (parts.length !== 2 || parts[0] !== "role") return true;
      return getRole(req.storage, parts[1]!) !== undefined;
    },
    handle(req: LogicalRequest): LogicalResponse {
      const path = req.path.replace(/\/+$/, "");
      if (path === "login") return login(req);
      if (path === "tidy/secret-id") return tidy(req);
      if (path === "role") {
        if (req.operation !== "list") throw unsupportedOperation();
        const keys = req.storage.list("role/").filter((k) => !k.endsWith("/"));
        if (keys.length === 0) throw notFound();
        return { data: { keys } };
      }
      const match = /^role\/([^/]+)(?:\/(.+))?$/.exec(path);
      if (!match || !ROLE_NAME.test(match[1]!)) throw unsupportedPath(req.mount.path + req.path);
      const name = match[1]!;
      return match[2] === undefined ? roleCrud(req, name) : roleSubPath(req, name, match[2]);
    },
  };
}

/** Per-field endpoints: path segment → [role field, legacy alias also returned on read]. */
const FIELD_ENDPOINTS: Record<string, [keyof RoleEntry & string, string?]> = {
  policies: ["token_policies", "policies"],
  "secret-id-num-uses": ["secret_id_num_uses"],
  "secret-id-ttl": ["secret_id_ttl"],
  "token-ttl": ["token_ttl"],
  "token-max-ttl": ["token_max_ttl"],
  "token-num-uses": ["token_num_uses"],
  "bind-secret-id": ["bind_secret_id"],
  "secret-id-bound-cidrs": ["secret_id_bound_cidrs"],
  "token-bound-cidrs": ["token_bound_cidrs"],
  period: ["token_period", "period"],
};

function roleCidrError(remote: string) {
  return badRequest(
    `source address ${JSON.stringify(remote)} unauthorized by CIDR restrictions on the role`,
  );
}

/** Vault names login tokens after the mount: "auth/approle/" → "approle". */
function mountDisplayName(mountPath: string): string {
  return mountPath
    .replace(/^auth\//, "")
    .replace(/\/+$/, "")
    .replace(/\//g, "-");
}

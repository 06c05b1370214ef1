import { createHash } from "node:crypto";
import { badRequest } from "../../errors.js";
import type { LogicalRequest, StorageView } from "../../types.js";
import { fieldString } from "../token-backend.js";

export interface RoleEntry {
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

export interface SecretIdEntry {
  secret_id_accessor: string;
  secret_id_num_uses: number;
  secret_id_ttl: number;
  /** Unix seconds (expiration with its milliseconds); expiration 0 means never. */
  creation_time: number;
  expiration_time: number;
  last_updated_time: number;
  metadata: Record<string, string>;
  cidr_list: string[];
}

export interface AccessorEntry {
  role: string;
  hash: string;
}

export const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");
export const unix = (req: LogicalRequest) => Math.floor(req.now.getTime() / 1000);
/** Seconds with their fraction (milliseconds), for expirations. */
export const exactUnix = (req: LogicalRequest) => req.now.getTime() / 1000;

export const roleKey = (name: string) => `role/${name}`;
export const roleIdKey = (roleId: string) => `role_id/${sha256(roleId)}`;
export const secretIdPrefix = (role: string) => `secret_id/${role}/`;
export const accessorKey = (accessor: string) => `accessor/${accessor}`;

export const getRole = (storage: StorageView, name: string) =>
  storage.getJSON<RoleEntry>(roleKey(name.toLowerCase()));

export function requireRole(req: LogicalRequest, name: string): RoleEntry {
  const role = getRole(req.storage, name);
  if (!role) throw badRequest(`role ${JSON.stringify(name)} does not exist`);
  return role;
}

/** Stores the role and keeps the role ID index pointing at it. */
export function saveRole(storage: StorageView, role: RoleEntry, previousRoleId?: string): void {
  if (role.role_id !== previousRoleId) {
    const owner = storage.getJSON<{ name: string }>(roleIdKey(role.role_id));
    if (owner && owner.name !== role.name) throw badRequest("role_id already in use");
    if (previousRoleId) storage.delete(roleIdKey(previousRoleId));
    storage.putJSON(roleIdKey(role.role_id), { name: role.name });
  }
  storage.putJSON(roleKey(role.name), role);
}

export function deleteSecretId(storage: StorageView, role: string, hash: string): void {
  const entry = storage.getJSON<SecretIdEntry>(secretIdPrefix(role) + hash);
  if (entry) storage.delete(accessorKey(entry.secret_id_accessor));
  storage.delete(secretIdPrefix(role) + hash);
}

/** Finds a secret ID by value (`secret_id`) or accessor (`secret_id_accessor`); expired ones are gone. */
export function findSecretId(
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
  // Vault: expired once now is after the expiration time.
  if (entry.expiration_time !== 0 && exactUnix(req) > entry.expiration_time) {
    deleteSecretId(req.storage, role.name, hash);
    return undefined;
  }
  return { hash, entry };
}

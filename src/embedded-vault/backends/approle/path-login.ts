import { badRequest, unsupportedOperation } from "../../errors.js";
import type { LogicalRequest, LogicalResponse } from "../../types.js";
import { fieldString, isWrite } from "../token-backend.js";
import type { TokenStore } from "../token-store.js";
import {
  deleteSecretId,
  findSecretId,
  getRole,
  type RoleEntry,
  roleIdKey,
  type SecretIdEntry,
  secretIdPrefix,
  unix,
} from "./approle-store.js";
import { addressAllowed } from "./cidr.js";
import { BATCH_TYPES } from "./role-fields.js";

// Same message for an unknown role ID and a bad secret ID, so role IDs cannot be enumerated.
const INVALID_CREDENTIALS = "invalid role or secret ID";

export function login(req: LogicalRequest, store: TokenStore): LogicalResponse {
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

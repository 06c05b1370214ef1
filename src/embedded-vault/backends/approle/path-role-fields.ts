import { badRequest, notFound, unsupportedOperation } from "../../errors.js";
import type { LogicalRequest, LogicalResponse } from "../../types.js";
import { getRole, type RoleEntry, saveRole } from "./approle-store.js";
import { applyRoleFields, defaultRole, roleData } from "./role-fields.js";

/** A role field of its own endpoint, and the legacy alias also returned on read. */
export type RoleFieldEndpoint = [keyof RoleEntry & string, string?];

/** role/<name>/<segment> endpoints that read, set or reset one role field. */
export const ROLE_FIELD_ENDPOINTS: ReadonlyMap<string, RoleFieldEndpoint> = new Map<
  string,
  RoleFieldEndpoint
>([
  ["policies", ["token_policies", "policies"]],
  ["secret-id-num-uses", ["secret_id_num_uses"]],
  ["secret-id-ttl", ["secret_id_ttl"]],
  ["token-ttl", ["token_ttl"]],
  ["token-max-ttl", ["token_max_ttl"]],
  ["token-num-uses", ["token_num_uses"]],
  ["bind-secret-id", ["bind_secret_id"]],
  ["secret-id-bound-cidrs", ["secret_id_bound_cidrs"]],
  ["token-bound-cidrs", ["token_bound_cidrs"]],
  ["period", ["token_period", "period"]],
]);

export function roleField(
  req: LogicalRequest,
  name: string,
  [primary, legacy]: RoleFieldEndpoint,
): LogicalResponse {
  const role = getRole(req.storage, name);
  if (!role) throw notFound();
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

import { randomUUID } from "node:crypto";
import { badRequest } from "../../errors.js";
import {
  fieldBool,
  fieldDuration,
  fieldInt,
  fieldString,
  fieldStringList,
} from "../token-backend.js";
import type { RoleEntry } from "./approle-store.js";
import { validCidrs } from "./cidr.js";

const TOKEN_TYPES = ["default", "service", "batch", "default-service", "default-batch"];
export const BATCH_TYPES = new Set(["batch", "default-batch"]);

export function defaultRole(name: string): RoleEntry {
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

export function roleData(role: RoleEntry): Record<string, unknown> {
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
export function applyRoleFields(
  role: RoleEntry,
  d: Record<string, unknown>,
  creating: boolean,
): void {
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
  validateRole(role);
}

function validateRole(role: RoleEntry): void {
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

import { badRequest, notFound, unsupportedOperation } from "../../errors.js";
import type { LogicalRequest, LogicalResponse } from "../../types.js";
import { fieldString } from "../token-backend.js";
import {
  deleteSecretId,
  getRole,
  roleIdKey,
  roleKey,
  saveRole,
  secretIdPrefix,
} from "./approle-store.js";
import { applyRoleFields, defaultRole, roleData } from "./role-fields.js";

export function listRoles(req: LogicalRequest): LogicalResponse {
  if (req.operation !== "list") throw unsupportedOperation();
  const keys = req.storage.list("role/").filter((k) => !k.endsWith("/"));
  if (keys.length === 0) throw notFound();
  return { data: { keys } };
}

export function roleCrud(req: LogicalRequest, name: string): LogicalResponse {
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

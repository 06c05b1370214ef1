import { badRequest, notFound, unsupportedOperation } from "../../errors.js";
import type { LogicalRequest, LogicalResponse } from "../../types.js";
import { fieldString, isWrite } from "../token-backend.js";
import { getRole, saveRole } from "./approle-store.js";

export function roleId(req: LogicalRequest, name: string): LogicalResponse {
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

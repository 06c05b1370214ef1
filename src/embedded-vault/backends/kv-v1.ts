/**
 * KV secrets engine version 1 (Vault's passthrough backend): the request body is stored as is,
 * as JSON under its path in the mount's storage view.
 */
import { badRequest, notFound, unsupportedOperation } from "../errors.js";
import type { LogicalBackend, LogicalRequest, LogicalResponse } from "../types.js";

function handle(req: LogicalRequest): LogicalResponse {
  const key = req.path;
  switch (req.operation) {
    case "read": {
      const data = req.storage.getJSON<Record<string, unknown>>(key);
      if (data === undefined) throw notFound();
      return { data };
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

export function createKvV1Backend(): LogicalBackend {
  return {
    type: "kv",
    exists: (req) => req.path !== "" && req.storage.get(req.path) !== undefined,
    handle,
  };
}

import { createHash } from "node:crypto";
import { badRequest, notFound, permissionDenied, unsupportedOperation } from "../errors.js";
import type { LogicalBackend } from "../types.js";

/** Per-token private storage: each token sees only its own folder, keyed by a hash of its id. */
export function createCubbyholeBackend(): LogicalBackend {
  return {
    type: "cubbyhole",
    exists: (req) => (req.token ? ownStorage(req).get(req.path) !== undefined : false),
    handle(req) {
      if (!req.token) throw permissionDenied();
      const storage = ownStorage(req);
      switch (req.operation) {
        case "read": {
          const value = storage.getJSON<Record<string, unknown>>(req.path);
          if (value === undefined) throw notFound();
          return { data: value };
        }
        case "create":
        case "update":
          if (req.path === "" || req.path.endsWith("/")) throw badRequest("missing path");
          if (Object.keys(req.data).length === 0) throw badRequest("missing data fields");
          storage.putJSON(req.path, req.data);
          return {};
        case "delete":
          storage.delete(req.path);
          return {};
        case "list": {
          const keys = storage.list(
            req.path === "" || req.path.endsWith("/") ? req.path : `${req.path}/`,
          );
          if (keys.length === 0) throw notFound();
          return { data: { keys } };
        }
        default:
          throw unsupportedOperation();
      }
    },
  };
}

function ownStorage(req: Parameters<LogicalBackend["handle"]>[0]) {
  const owner = createHash("sha256").update(req.token!.id).digest("hex");
  return req.storage.sub(`${owner}/`);
}

/**
 * AppRole auth method (Vault's builtin/credential/approle), one file per path family.
 *
 * Storage layout inside the mount's view (all JSON):
 *   role/<name>                   the role's settings
 *   role_id/<sha256(role_id)>     {name}: finds the role at login
 *   secret_id/<role>/<sha256(id)> one secret ID's uses, TTL, metadata and CIDRs
 *   accessor/<accessor>           {role, hash}: finds a secret ID by its accessor
 */
import { unsupportedPath } from "../../errors.js";
import type { LogicalBackend, LogicalRequest, LogicalResponse } from "../../types.js";
import type { TokenStore } from "../token-store.js";
import { getRole } from "./approle-store.js";
import { login } from "./path-login.js";
import { listRoles, roleCrud } from "./path-role.js";
import { ROLE_FIELD_ENDPOINTS, roleField } from "./path-role-fields.js";
import { roleId } from "./path-role-id.js";
import { customSecretId, secretId, secretIdOperation } from "./path-secret-id.js";
import { tidySecretIds } from "./path-tidy.js";

type RolePathHandler = (req: LogicalRequest, name: string) => LogicalResponse;

const ROLE_NAME = /^\w(?:[\w.-]*\w)?$/;

/** role/<name>/<sub-path> endpoints other than the per-field ones. */
const ROLE_SUB_PATHS: ReadonlyMap<string, RolePathHandler> = new Map<string, RolePathHandler>([
  ["role-id", roleId],
  ["secret-id", secretId],
  ["custom-secret-id", customSecretId],
  ["secret-id/lookup", (req, name) => secretIdOperation(req, name, "secret_id", "lookup")],
  ["secret-id/destroy", (req, name) => secretIdOperation(req, name, "secret_id", "destroy")],
  [
    "secret-id-accessor/lookup",
    (req, name) => secretIdOperation(req, name, "secret_id_accessor", "lookup"),
  ],
  [
    "secret-id-accessor/destroy",
    (req, name) => secretIdOperation(req, name, "secret_id_accessor", "destroy"),
  ],
]);

function roleSubPath(req: LogicalRequest, name: string, sub: string): LogicalResponse {
  const handler = ROLE_SUB_PATHS.get(sub);
  if (handler) return handler(req, name);
  const field = ROLE_FIELD_ENDPOINTS.get(sub);
  if (!field) throw unsupportedPath(req.mount.path + req.path);
  return roleField(req, name, field);
}

export function createAppRoleBackend(store: TokenStore): LogicalBackend {
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
      if (path === "login") return login(req, store);
      if (path === "tidy/secret-id") return tidySecretIds(req);
      if (path === "role") return listRoles(req);
      const match = /^role\/([^/]+)(?:\/(.+))?$/.exec(path);
      if (!match || !ROLE_NAME.test(match[1]!)) throw unsupportedPath(req.mount.path + req.path);
      const name = match[1]!;
      return match[2] === undefined ? roleCrud(req, name) : roleSubPath(req, name, match[2]);
    },
  };
}

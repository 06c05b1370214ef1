import { unsupportedOperation, VaultError } from "../../errors.js";
import type { LogicalBackend } from "../../types.js";
import { auditRoutes } from "./path-audit.js";
import { AUTH_MOUNT_ROUTES } from "./path-auth.js";
import { capabilitiesRoutes } from "./path-capabilities.js";
import { INTERNAL_UI_ROUTES } from "./path-internal-ui.js";
import { SECRET_MOUNT_ROUTES } from "./path-mounts.js";
import { policyRoutes } from "./path-policy.js";
import type { Route, SystemBackendDeps } from "./route.js";

export type { SystemBackendDeps } from "./route.js";

/** The logical part of `sys/`: mounts, auth methods, policies, audit devices, capabilities. */
export function createSystemBackend(deps: SystemBackendDeps): LogicalBackend {
  // First match wins: each family lists its exact paths before its catch-all `(.+)`.
  const routes: Route[] = [
    ...SECRET_MOUNT_ROUTES,
    ...AUTH_MOUNT_ROUTES,
    ...policyRoutes(deps),
    ...auditRoutes(deps),
    ...capabilitiesRoutes(deps),
    ...INTERNAL_UI_ROUTES,
    { pattern: /^key-status$/, operations: { read: () => ({ data: deps.keyStatus() }) } },
  ];

  return {
    type: "system",
    unauthenticatedPaths: ["internal/ui/mounts", "internal/ui/mounts/*"],
    exists: () => true,
    handle(req) {
      for (const route of routes) {
        const match = route.pattern.exec(req.path);
        if (!match) continue;
        const handler = route.operations[req.operation];
        if (!handler) throw unsupportedOperation();
        return handler(req, match[1] ?? "");
      }
      throw new VaultError(404, ["unsupported path"]);
    },
  };
}

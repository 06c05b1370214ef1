import { badRequest, permissionDenied } from "../../errors.js";
import type { LogicalResponse, StorageView, TokenEntry } from "../../types.js";
import type { Handler, Route, SystemBackendDeps } from "./route.js";

/** sys/capabilities-self, sys/capabilities (by token) and sys/capabilities-accessor. */
export function capabilitiesRoutes(deps: SystemBackendDeps): Route[] {
  function capabilitiesAnswer(
    tx: StorageView,
    token: TokenEntry,
    paths: string[],
  ): LogicalResponse {
    // Null prototype: a requested path may be "__proto__" and must come back as a key.
    const data: Record<string, unknown> = Object.create(null);
    for (const path of paths) data[path] = deps.capabilities(tx, token, path);
    if (paths.length === 1) data.capabilities = data[paths[0]!];
    return { data };
  }

  const capabilitiesSelf: Handler = (req) => {
    if (!req.token) throw permissionDenied();
    return capabilitiesAnswer(req.tx, req.token, requestedPaths(req.data));
  };

  const capabilitiesOfToken: Handler = (req) => {
    const token =
      typeof req.data.token === "string" ? deps.lookupToken(req.tx, req.data.token) : undefined;
    if (!token) throw badRequest("invalid token");
    return capabilitiesAnswer(req.tx, token, requestedPaths(req.data));
  };

  const capabilitiesOfAccessor: Handler = (req) => {
    const token =
      typeof req.data.accessor === "string"
        ? deps.lookupAccessor(req.tx, req.data.accessor)
        : undefined;
    if (!token) throw badRequest("invalid accessor");
    return capabilitiesAnswer(req.tx, token, requestedPaths(req.data));
  };

  return [
    {
      pattern: /^capabilities-self$/,
      operations: { create: capabilitiesSelf, update: capabilitiesSelf },
    },
    {
      pattern: /^capabilities$/,
      operations: { create: capabilitiesOfToken, update: capabilitiesOfToken },
    },
    {
      pattern: /^capabilities-accessor$/,
      operations: { create: capabilitiesOfAccessor, update: capabilitiesOfAccessor },
    },
  ];
}

function requestedPaths(data: Record<string, unknown>): string[] {
  const paths = data.paths ?? data.path;
  const list = Array.isArray(paths) ? paths : typeof paths === "string" ? paths.split(",") : [];
  const clean = list.map((p) => String(p).trim()).filter((p) => p !== "");
  if (clean.length === 0) throw badRequest("paths must be supplied");
  return clean;
}

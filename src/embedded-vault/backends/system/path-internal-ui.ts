import { permissionDenied } from "../../errors.js";
import { AUTH_MOUNTS_KEY, mountInfo, readMounts, SECRET_MOUNTS_KEY } from "../../mount-table.js";
import type { LogicalRequest, LogicalResponse } from "../../types.js";
import type { Route } from "./route.js";

/** sys/internal/ui/mounts: what the CLI asks to learn a mount's KV version. */
export const INTERNAL_UI_ROUTES: Route[] = [
  { pattern: /^internal\/ui\/mounts\/?$/, operations: { read: uiMounts } },
  { pattern: /^internal\/ui\/mounts\/(.+)$/, operations: { read: uiMount } },
];

function uiMounts(req: LogicalRequest): LogicalResponse {
  if (!req.token) throw permissionDenied();
  const secret: Record<string, unknown> = {};
  const auth: Record<string, unknown> = {};
  for (const m of readMounts(req.tx, SECRET_MOUNTS_KEY)) secret[m.path] = mountInfo(m);
  for (const m of readMounts(req.tx, AUTH_MOUNTS_KEY)) auth[m.path.slice(5)] = mountInfo(m);
  return { data: { secret, auth } };
}

function uiMount(req: LogicalRequest, raw: string): LogicalResponse {
  if (!req.token) throw permissionDenied();
  const target = raw.endsWith("/") ? raw : `${raw}/`;
  const mount = readMounts(req.tx, SECRET_MOUNTS_KEY)
    .filter((m) => target.startsWith(m.path))
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (!mount) throw permissionDenied();
  return { data: { ...mountInfo(mount), path: mount.path } };
}

import { badRequest } from "../../errors.js";
import {
  AUTH_MOUNTS_KEY,
  mountInfo,
  newMountEntry,
  normalizeMountPath,
  readMounts,
  writeMounts,
} from "../../mount-table.js";
import type { LogicalRequest, LogicalResponse } from "../../types.js";
import { assertFreePath, disableMount, findMount, mountSettings } from "./mount-admin.js";
import { tuneOps } from "./path-mount-tune.js";
import type { Route } from "./route.js";

/** Auth method types that `sys/auth` may enable. */
const AUTH_METHOD_TYPES = new Set(["approle"]);

export const AUTH_MOUNT_ROUTES: Route[] = [
  { pattern: /^auth\/?$/, operations: { read: listAuthMounts } },
  { pattern: /^auth\/(.+?)\/tune\/?$/, operations: tuneOps(AUTH_MOUNTS_KEY, "auth/") },
  {
    pattern: /^auth\/(.+)$/,
    operations: {
      read: readAuthMount,
      create: enableAuthMount,
      update: enableAuthMount,
      delete: disableMount(AUTH_MOUNTS_KEY, "auth/"),
    },
  },
];

function listAuthMounts(req: LogicalRequest): LogicalResponse {
  const data: Record<string, unknown> = {};
  for (const mount of readMounts(req.tx, AUTH_MOUNTS_KEY))
    data[mount.path.slice("auth/".length)] = mountInfo(mount);
  return { data };
}

function readAuthMount(req: LogicalRequest, raw: string): LogicalResponse {
  const path = `auth/${normalizeMountPath(raw)}`;
  const { mounts, index } = findMount(req.tx, AUTH_MOUNTS_KEY, path);
  if (index === -1) throw badRequest(`No auth engine at ${path}`);
  return { data: mountInfo(mounts[index]!) };
}

function enableAuthMount(req: LogicalRequest, raw: string): LogicalResponse {
  const path = `auth/${normalizeMountPath(raw)}`;
  const type = typeof req.data.type === "string" ? req.data.type : "";
  if (!type) throw badRequest("type must be specified");
  if (type === "token") throw badRequest("token credential backend cannot be instantiated");
  if (!AUTH_METHOD_TYPES.has(type)) throw badRequest(`plugin not found in the catalog: ${type}`);
  assertFreePath(req.tx, path, "auth");
  const mounts = readMounts(req.tx, AUTH_MOUNTS_KEY);
  mounts.push(newMountEntry(path, type, mountSettings(req.data), "auth"));
  writeMounts(req.tx, AUTH_MOUNTS_KEY, mounts);
  return {};
}

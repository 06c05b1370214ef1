import { badRequest } from "../../errors.js";
import {
  mountInfo,
  newMountEntry,
  normalizeMountPath,
  normalizeSecretsEngine,
  readMounts,
  SECRET_MOUNTS_KEY,
  writeMounts,
} from "../../mount-table.js";
import type { LogicalRequest, LogicalResponse } from "../../types.js";
import { assertFreePath, disableMount, findMount, mountSettings } from "./mount-admin.js";
import { tuneOps } from "./path-mount-tune.js";
import { isRecord, type Route } from "./route.js";

/** Secrets engine types that `sys/mounts` may enable. */
const SECRET_ENGINE_TYPES = new Set(["kv"]);

export const SECRET_MOUNT_ROUTES: Route[] = [
  { pattern: /^mounts\/?$/, operations: { read: listSecretMounts } },
  { pattern: /^mounts\/(.+?)\/tune\/?$/, operations: tuneOps(SECRET_MOUNTS_KEY, "") },
  {
    pattern: /^mounts\/(.+)$/,
    operations: {
      read: readSecretMount,
      create: enableSecretMount,
      update: enableSecretMount,
      delete: disableMount(SECRET_MOUNTS_KEY, ""),
    },
  },
];

function listSecretMounts(req: LogicalRequest): LogicalResponse {
  const data: Record<string, unknown> = {};
  for (const mount of readMounts(req.tx, SECRET_MOUNTS_KEY)) data[mount.path] = mountInfo(mount);
  return { data };
}

function readSecretMount(req: LogicalRequest, raw: string): LogicalResponse {
  const { mounts, index } = findMount(req.tx, SECRET_MOUNTS_KEY, normalizeMountPath(raw));
  if (index === -1) throw badRequest(`No secret engine mount at ${normalizeMountPath(raw)}`);
  return { data: mountInfo(mounts[index]!) };
}

function enableSecretMount(req: LogicalRequest, raw: string): LogicalResponse {
  const path = normalizeMountPath(raw);
  const rawType = typeof req.data.type === "string" ? req.data.type : "";
  if (!rawType) throw badRequest("type must be specified");
  const { type, options } = normalizeSecretsEngine(
    rawType,
    isRecord(req.data.options) ? req.data.options : null,
  );
  if (!SECRET_ENGINE_TYPES.has(type))
    throw badRequest(`plugin not found in the catalog: ${rawType}`);
  assertFreePath(req.tx, path, "secret");
  const mounts = readMounts(req.tx, SECRET_MOUNTS_KEY);
  mounts.push(newMountEntry(path, type, { ...mountSettings(req.data), options }, "secret"));
  writeMounts(req.tx, SECRET_MOUNTS_KEY, mounts);
  return {};
}

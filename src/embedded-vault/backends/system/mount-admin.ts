import { badRequest } from "../../errors.js";
import {
  AUTH_MOUNTS_KEY,
  type MountSettings,
  normalizeMountPath,
  readMounts,
  SECRET_MOUNTS_KEY,
  writeMounts,
} from "../../mount-table.js";
import type { MountEntry, StorageView } from "../../types.js";
import { type Handler, isRecord } from "./route.js";

const RESERVED_MOUNTS = ["sys/", "auth/", "cubbyhole/", "identity/"];

export function findMount(
  tx: StorageView,
  tableKey: string,
  path: string,
): { mounts: MountEntry[]; index: number } {
  const mounts = readMounts(tx, tableKey);
  return { mounts, index: mounts.findIndex((m) => m.path === path) };
}

export function assertFreePath(tx: StorageView, path: string, kind: "secret" | "auth"): void {
  for (const reserved of kind === "secret" ? RESERVED_MOUNTS : []) {
    if (path.startsWith(reserved) || reserved.startsWith(path)) {
      throw badRequest(`cannot mount at "${path}": path is reserved`);
    }
  }
  for (const mount of [...readMounts(tx, SECRET_MOUNTS_KEY), ...readMounts(tx, AUTH_MOUNTS_KEY)]) {
    if (path.startsWith(mount.path) || mount.path.startsWith(path)) {
      throw badRequest(`path is already in use at ${mount.path}`);
    }
  }
}

export function mountSettings(data: Record<string, unknown>): MountSettings {
  return {
    description: typeof data.description === "string" ? data.description : "",
    config: isRecord(data.config) ? data.config : {},
    local: data.local === true,
    seal_wrap: data.seal_wrap === true,
  };
}

/** DELETE on a mount path: drops the mount and all it stored; built-in mounts stay. */
export function disableMount(tableKey: string, prefix: string): Handler {
  return (req, raw) => {
    const path = prefix + normalizeMountPath(raw);
    const { mounts, index } = findMount(req.tx, tableKey, path);
    if (index === -1) return {};
    const mount = mounts[index]!;
    if (mount.type === "system" || mount.type === "token" || mount.type === "cubbyhole") {
      throw badRequest(`cannot unmount "${mount.path}"`);
    }
    for (const key of req.tx.listRecursive(mount.storagePrefix))
      req.tx.delete(mount.storagePrefix + key);
    mounts.splice(index, 1);
    writeMounts(req.tx, tableKey, mounts);
    return {};
  };
}

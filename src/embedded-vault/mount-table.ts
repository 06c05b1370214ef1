import { randomBytes, randomUUID } from "node:crypto";
import { badRequest } from "./errors.js";
import type { MountEntry, StorageView } from "./types.js";

/** Where the core keeps its tables inside the barrier. */
export const SECRET_MOUNTS_KEY = "core/mounts";
export const AUTH_MOUNTS_KEY = "core/auth";
export const AUDIT_TABLE_KEY = "core/audit";

export interface MountSettings {
  description?: string;
  options?: Record<string, string> | null;
  config?: Record<string, unknown>;
  local?: boolean;
  seal_wrap?: boolean;
}

const DEFAULT_MOUNT_CONFIG = {
  default_lease_ttl: 0,
  max_lease_ttl: 0,
  force_no_cache: false,
};

export function newMountEntry(
  path: string,
  type: string,
  settings: MountSettings,
  kind: "secret" | "auth",
): MountEntry {
  const uuid = randomUUID();
  const accessorPrefix = kind === "auth" ? `auth_${type}` : type;
  return {
    path,
    type,
    description: settings.description ?? "",
    accessor: `${accessorPrefix}_${randomBytes(4).toString("hex")}`,
    uuid,
    local: settings.local ?? false,
    seal_wrap: settings.seal_wrap ?? false,
    options: settings.options ?? null,
    config: { ...DEFAULT_MOUNT_CONFIG, ...(settings.config ?? {}) },
    storagePrefix: `${kind === "auth" ? "auth" : "logical"}/${uuid}/`,
  };
}

/** The mounts every Vault starts with (sys/ and cubbyhole/ for secrets, token/ for auth). */
export function defaultMounts(): { secrets: MountEntry[]; auth: MountEntry[] } {
  return {
    secrets: [
      newMountEntry(
        "cubbyhole/",
        "cubbyhole",
        { description: "per-token private secret storage" },
        "secret",
      ),
      newMountEntry(
        "sys/",
        "system",
        { description: "system endpoints used for control, policy and debugging" },
        "secret",
      ),
    ],
    auth: [
      newMountEntry("auth/token/", "token", { description: "token based credentials" }, "auth"),
    ],
  };
}

export function readMounts(tx: StorageView, key: string): MountEntry[] {
  return tx.getJSON<MountEntry[]>(key) ?? [];
}

export function writeMounts(tx: StorageView, key: string, entries: MountEntry[]): void {
  tx.putJSON(
    key,
    [...entries].sort((a, b) => a.path.localeCompare(b.path)),
  );
}

/** Normalizes a user-supplied mount path to "name/" and rejects the unusable ones. */
export function normalizeMountPath(raw: string): string {
  const trimmed = raw.replace(/^\/+/, "");
  const path = trimmed.endsWith("/") ? trimmed : `${trimmed}/`;
  if (path === "/" || path.includes("//")) throw badRequest("invalid mount path");
  return path;
}

/** KV accepts `kv-v2`/`kv-v1` aliases and `options.version` as a string or a number. */
export function normalizeSecretsEngine(
  type: string,
  options: Record<string, unknown> | null | undefined,
): { type: string; options: Record<string, string> | null } {
  const normalized: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(options ?? {})) normalized[key] = String(value);
  if (type === "kv-v2" || type === "kv-v1") {
    normalized.version = type === "kv-v2" ? "2" : "1";
    return { type: "kv", options: normalized };
  }
  if (type === "kv") {
    normalized.version ??= "1";
    if (normalized.version !== "1" && normalized.version !== "2") {
      throw badRequest(`invalid KV version "${normalized.version}"`);
    }
    return { type, options: normalized };
  }
  return { type, options: Object.keys(normalized).length > 0 ? normalized : null };
}

/** The JSON shape sys/mounts and sys/auth use for one entry. */
export function mountInfo(entry: MountEntry): Record<string, unknown> {
  return {
    accessor: entry.accessor,
    config: entry.config,
    description: entry.description,
    external_entropy_access: false,
    local: entry.local,
    options: entry.options,
    plugin_version: "",
    running_plugin_version: `v0.0.0+builtin.strongroom`,
    running_sha256: "",
    seal_wrap: entry.seal_wrap,
    type: entry.type,
    uuid: entry.uuid,
    deprecation_status: entry.type === "system" || entry.type === "token" ? undefined : "supported",
  };
}

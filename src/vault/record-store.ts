/**
 * A deployment's KV v2 folder, `strongroom/<deployment>/`, as a store of records at keys
 * relative to it (kv-layout.ts DEPLOYMENT_KEYS): the secrets, the rendered option values
 * castellan reads, rotation state and rotation locks.
 */
import { usageError } from "../lib/errors.js";
import { DEFAULT_KV_MOUNT, deploymentPrefix } from "./kv-layout.js";
import { KvV2 } from "./kv-v2.js";
import type { VaultClient } from "./vault-client.js";

export interface RecordStore {
  /** `strongroom/<deployment>`: a record's full KV path is `<prefix>/<path>`. */
  readonly prefix: string;
  read(path: string): Promise<Record<string, unknown> | undefined>;
  /** The data with its KV version, for check-and-set updates. */
  readVersioned(
    path: string,
  ): Promise<{ data: Record<string, unknown>; version: number } | undefined>;
  /** Writes a new version; with `cas`, only if the current version is `cas` (0: absent). */
  write(path: string, data: Record<string, unknown>, cas?: number): Promise<number>;
  remove(path: string): Promise<void>;
  /** Keys directly under a folder (sub-folders end in `/`); [] when there is none. */
  list(folder: string): Promise<string[]>;
}

export interface VaultRecordStoreOptions {
  client: VaultClient;
  mount?: string;
  deployment: string;
}

/** Relative paths only: no empty, `.` or `..` segment can climb out of the deployment. */
function checkPath(path: string, folder = false): string {
  const trimmed = folder ? path.replace(/\/$/, "") : path;
  const segments = trimmed.split("/");
  if (trimmed === "" || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw usageError(`invalid record path "${path}"`);
  }
  return trimmed;
}

export function createVaultRecordStore(options: VaultRecordStoreOptions): RecordStore {
  const kv = new KvV2(options.client, options.mount ?? DEFAULT_KV_MOUNT);
  const prefix = deploymentPrefix(options.deployment);
  const full = (path: string) => `${prefix}/${checkPath(path)}`;
  return {
    prefix,
    async read(path) {
      return (await kv.read(full(path)))?.data ?? undefined;
    },
    async readVersioned(path) {
      const found = await kv.read(full(path));
      return found?.data ? { data: found.data, version: found.version } : undefined;
    },
    write(path, data, cas) {
      return kv.write(full(path), data, cas);
    },
    async remove(path) {
      await kv.destroy(full(path));
    },
    async list(folder) {
      return kv.list(`${prefix}/${checkPath(folder, true)}/`);
    },
  };
}

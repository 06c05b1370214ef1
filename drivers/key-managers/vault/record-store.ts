/**
 * Arbitrary KV v2 records beside the secrets, under `strongroom/<deployment>/`: the rendered
 * option values castellan reads, and later rotation state and locks.
 */
import { usageError } from "../../../src/lib/errors.js";
import type { VaultClient } from "../../../src/vault/vault-client.js";
import { KvV2 } from "./kv-v2.js";
import { deploymentPrefix } from "./vault-key-manager.js";

export interface RecordStore {
  /** `strongroom/<deployment>`: a record's full KV path is `<prefix>/<path>`. */
  readonly prefix: string;
  read(path: string): Promise<Record<string, unknown> | undefined>;
  write(path: string, data: Record<string, unknown>): Promise<void>;
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
  const kv = new KvV2(options.client, options.mount ?? "secret");
  const prefix = deploymentPrefix(options.deployment);
  const full = (path: string) => `${prefix}/${checkPath(path)}`;
  return {
    prefix,
    async read(path) {
      return (await kv.read(full(path)))?.data ?? undefined;
    },
    async write(path, data) {
      await kv.write(full(path), data);
    },
    async remove(path) {
      await kv.destroy(full(path));
    },
    async list(folder) {
      return kv.list(`${prefix}/${checkPath(folder, true)}/`);
    },
  };
}

/**
 * The KV v2 calls strongroom makes, through node-vault, with Vault's
 * failures turned into StrongroomErrors that name the path and the status, never a value.
 */
import { ERRORS, type StrongroomError } from "../lib/errors.js";
import { kvApiPath } from "./kv-layout.js";
import { type VaultClient, vaultStatusOf } from "./vault-client.js";

export interface KvVersion {
  data: Record<string, unknown> | null;
  version: number;
}

export interface KvVersionMetadata {
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

export interface KvMetadata {
  current_version: number;
  versions: Record<string, KvVersionMetadata>;
}

const CAS_MISMATCH = /check-and-set parameter/i;
const MAX_REASON = 200;

/** Vault's own error text (short, about the request, never echoing data) or the cause. */
function reasonOf(error: unknown): string {
  const body = (error as { response?: { body?: { errors?: unknown[] } } }).response?.body;
  const first = Array.isArray(body?.errors) ? body.errors[0] : undefined;
  if (typeof first === "string" && first.length <= MAX_REASON) return first;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return code;
  return error instanceof Error && error.message.length <= MAX_REASON
    ? error.message
    : "request failed";
}

/** A write whose expected version (`cas`) was not the current one; shared by the key managers. */
export const casMismatchError = (what: string, cause?: unknown): StrongroomError =>
  ERRORS.STRONGROOM_ERR_CAS_MISMATCH(`${what}: changed concurrently (check-and-set failed)`, {
    cause,
  });

export function vaultFailure(operation: string, path: string, error: unknown): StrongroomError {
  const status = vaultStatusOf(error);
  const reason = reasonOf(error);
  if (status === 400 && CAS_MISMATCH.test(reason)) return casMismatchError(path, error);
  const refused =
    status === 403 ? ERRORS.STRONGROOM_ERR_VAULT_FORBIDDEN : ERRORS.STRONGROOM_ERR_VAULT;
  const what = status === undefined ? reason : `${status} ${reason}`;
  return refused(`vault: ${operation} ${path} failed (${what})`, {
    cause: error,
  });
}

export class KvV2 {
  constructor(
    private readonly client: VaultClient,
    private readonly mount: string,
  ) {}

  /** The data of the latest (or given) version; undefined when absent. */
  async read(path: string, version?: number): Promise<KvVersion | undefined> {
    const query = version === undefined ? "" : `?version=${version}`;
    try {
      const response = await this.client.read(`${kvApiPath(this.mount, "data", path)}${query}`);
      const data = response?.data?.data ?? null;
      return { data, version: Number(response?.data?.metadata?.version ?? 0) };
    } catch (error) {
      if (vaultStatusOf(error) === 404) return undefined;
      throw vaultFailure("read", path, error);
    }
  }

  async write(path: string, data: Record<string, unknown>, cas?: number): Promise<number> {
    try {
      const response = await this.client.write(kvApiPath(this.mount, "data", path), {
        options: cas === undefined ? {} : { cas },
        data,
      });
      return Number(response?.data?.version ?? 0);
    } catch (error) {
      throw vaultFailure("write", path, error);
    }
  }

  async metadata(path: string): Promise<KvMetadata | undefined> {
    try {
      const response = await this.client.read(kvApiPath(this.mount, "metadata", path));
      return response?.data as KvMetadata;
    } catch (error) {
      if (vaultStatusOf(error) === 404) return undefined;
      throw vaultFailure("read metadata of", path, error);
    }
  }

  /** Deletes every version and the metadata. */
  async destroy(path: string): Promise<void> {
    try {
      await this.client.delete(kvApiPath(this.mount, "metadata", path));
    } catch (error) {
      if (vaultStatusOf(error) === 404) return;
      throw vaultFailure("destroy", path, error);
    }
  }

  /** Writes the key's settings (max_versions, cas_required, custom_metadata, ...). */
  async writeMetadata(path: string, settings: Record<string, unknown>): Promise<void> {
    try {
      await this.client.write(kvApiPath(this.mount, "metadata", path), settings);
    } catch (error) {
      throw vaultFailure("write metadata of", path, error);
    }
  }

  /** Soft-deletes versions (undeletable); `destroyVersions` removes their data for good. */
  async deleteVersions(path: string, versions: number[]): Promise<void> {
    await this.versionsCall("delete", path, versions);
  }

  async destroyVersions(path: string, versions: number[]): Promise<void> {
    await this.versionsCall("destroy", path, versions);
  }

  private async versionsCall(route: "delete" | "destroy", path: string, versions: number[]) {
    try {
      await this.client.write(kvApiPath(this.mount, route, path), { versions });
    } catch (error) {
      throw vaultFailure(route, path, error);
    }
  }

  /** Key names under a folder (`path/`); sub-folders end in `/`. */
  async list(folder: string): Promise<string[]> {
    try {
      const response = await this.client.list(kvApiPath(this.mount, "metadata", folder));
      const keys: unknown = response?.data?.keys;
      return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : [];
    } catch (error) {
      if (vaultStatusOf(error) === 404) return [];
      throw vaultFailure("list", folder, error);
    }
  }
}

/**
 * The `vault` key manager: secrets as Castellan records in KV v2, at
 * `<mount>/data/strongroom/<deployment>/secrets/<Name>` (src/vault/kv-layout.ts).
 */
import {
  fromCastellanRecord,
  toCastellanRecord,
  unixSeconds,
} from "../../../src/vault/castellan-record.js";
import {
  DEFAULT_KV_MOUNT,
  DEPLOYMENT_KEYS,
  deploymentPath,
  secretPath,
} from "../../../src/vault/kv-layout.js";
import { KvV2 } from "../../../src/vault/kv-v2.js";
import type { VaultClient } from "../../../src/vault/vault-client.js";
import type { KeyManager, SecretValue, SecretVersionInfo, StoredSecret } from "../../types.js";

export interface VaultKeyManagerOptions {
  client: VaultClient;
  /** The KV v2 mount, without slashes (default "secret"). */
  mount?: string;
  deployment: string;
}

export function createVaultKeyManager(options: VaultKeyManagerOptions): KeyManager {
  const kv = new KvV2(options.client, options.mount ?? DEFAULT_KV_MOUNT);
  const folder = deploymentPath(options.deployment, DEPLOYMENT_KEYS.secretsFolder);
  const pathOf = (id: string) => secretPath(options.deployment, id);

  return {
    driver: "vault",

    async get(id: string, version?: number): Promise<StoredSecret | undefined> {
      const found = await kv.read(pathOf(id), version);
      const record = found?.data ? fromCastellanRecord(found.data) : undefined;
      if (!found || !record) return undefined;
      return { id, ...record, version: found.version };
    },

    async put(id: string, value: SecretValue, putOptions?: { cas?: number }) {
      const record = toCastellanRecord(id, value, unixSeconds());
      const version = await kv.write(pathOf(id), { ...record }, putOptions?.cas);
      return { version };
    },

    async list(): Promise<string[]> {
      const keys = await kv.list(`${folder}/`);
      return keys.filter((k) => !k.endsWith("/")).sort();
    },

    async versions(id: string): Promise<SecretVersionInfo[]> {
      const metadata = await kv.metadata(pathOf(id));
      if (!metadata) return [];
      return Object.entries(metadata.versions)
        .map(([version, info]) => ({
          version: Number(version),
          created: unixSeconds(Date.parse(info.created_time)),
          deleted: info.deletion_time !== "",
          destroyed: info.destroyed,
        }))
        .sort((a, b) => a.version - b.version);
    },

    async destroy(id: string): Promise<void> {
      await kv.destroy(pathOf(id));
    },
  };
}

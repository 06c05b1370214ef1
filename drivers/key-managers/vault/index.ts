/**
 * The `vault` key-manager driver. Config: `{ client }` (a node-vault client), or
 * `{ addr, token, caFile? }`; optional `mount` (default "secret").
 */
import { readFileSync } from "node:fs";
import { configError } from "../../../src/lib/errors.js";
import { createVaultClient, type VaultClient } from "../../../src/vault/vault-client.js";
import type { KeyManagerDriver } from "../../types.js";
import { createVaultKeyManager } from "./vault-key-manager.js";

export { createVaultKeyManager, type VaultKeyManagerOptions } from "./vault-key-manager.js";

function clientFrom(config: Record<string, unknown>): VaultClient {
  if (config["client"] !== undefined) return config["client"] as VaultClient;
  const { addr, token, caFile } = config;
  if (typeof addr !== "string" || typeof token !== "string") {
    throw configError("the vault key manager needs `client`, or `addr` and `token`");
  }
  const ca = typeof caFile === "string" ? readFileSync(caFile) : undefined;
  return createVaultClient({ addr, token, ...(ca && { ca }) });
}

export const driver: KeyManagerDriver = {
  kind: "key-manager",
  name: "vault",
  async create(config, context) {
    const mount = config["mount"];
    if (mount !== undefined && typeof mount !== "string") {
      throw configError("vault key manager: `mount` must be a string");
    }
    return createVaultKeyManager({
      client: clientFrom(config),
      deployment: context.deployment,
      ...(mount !== undefined && { mount }),
    });
  },
};

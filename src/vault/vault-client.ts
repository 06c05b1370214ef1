import nodeVault from "node-vault";

export type VaultClient = nodeVault.client;

export interface VaultClientOptions {
  addr: string;
  token?: string;
  /** PEM CA bundle for https addresses. */
  ca?: string | Buffer;
}

/** The one place strongroom builds node-vault clients, so TLS and token handling stay uniform. */
export function createVaultClient(options: VaultClientOptions): VaultClient {
  const client = nodeVault({
    apiVersion: "v1",
    endpoint: options.addr,
    token: options.token,
    requestOptions: options.ca ? { ca: options.ca } : undefined,
  });
  // node-vault falls back to $VAULT_TOKEN when given none: an anonymous client must stay anonymous.
  client.token = options.token as string;
  return client;
}

/** node-vault rejects with the status in `response.statusCode`; this reads it safely. */
export function vaultStatusOf(error: unknown): number | undefined {
  const response = (error as { response?: { statusCode?: number } } | undefined)?.response;
  return response?.statusCode;
}

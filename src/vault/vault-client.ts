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
    // With a CA, node-vault builds its own https.Agent, whose default is a new TLS connection
    // per request: keep-alive makes a strongroom-to-Vault call cost one request, not a handshake.
    requestOptions: options.ca
      ? { ca: options.ca, agentOptions: { keepAlive: true, maxSockets: 128 } }
      : undefined,
  });
  // node-vault falls back to $VAULT_TOKEN when given none: an anonymous client must stay anonymous.
  client.token = options.token as string;
  // Every call goes through `request`. A transport failure rejects with axios's error, whose
  // `config` and `request` hold the X-Vault-Token header and the body (a looked-up token, a
  // secret value): a logged `{ err }` would print them. They are dropped here, once for every
  // client; `response` (what vaultStatusOf reads) and the message stay.
  const request = client.request;
  client.request = (requestOptions) =>
    request(requestOptions).catch((error: unknown) => {
      throw withoutRequestDetails(error);
    });
  return client;
}

function withoutRequestDetails(error: unknown): unknown {
  if (typeof error === "object" && error !== null) {
    const carrier = error as { config?: unknown; request?: unknown };
    delete carrier.config;
    delete carrier.request;
  }
  return error;
}

/** node-vault rejects with the status in `response.statusCode`; this reads it safely. */
export function vaultStatusOf(error: unknown): number | undefined {
  const response = (error as { response?: { statusCode?: number } } | undefined)?.response;
  return response?.statusCode;
}

/** A read that answers undefined for a path Vault does not hold (404). */
// biome-ignore lint/suspicious/noExplicitAny: node-vault answers untyped JSON.
export async function readIfPresent(client: VaultClient, path: string): Promise<any> {
  try {
    return await client.read(path);
  } catch (error) {
    if (vaultStatusOf(error) === 404) return undefined;
    throw error;
  }
}

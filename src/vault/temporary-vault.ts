import { accessSync, constants, mkdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { ERRORS, StrongroomError } from "../lib/errors.js";
import {
  type ServerProcess,
  serverExitedError,
  spawnEmbeddedServer,
  spawnVaultBinary,
} from "./server-process.js";
import { createVaultClient, type VaultClient, vaultStatusOf } from "./vault-client.js";

export type VaultMode = "auto" | "embedded" | "binary" | "external";

export interface TemporaryVaultOptions {
  mode: VaultMode;
  /** 0700 directory that holds the server's storage (embedded: vault/, binary: raft/). */
  stateDir: string;
  /** `--vault-bin`; with mode "auto" a `vault` or `bao` on PATH is used when present. */
  vaultBin?: string;
  /** Mode "external": the address and a token allowed to set it up (VAULT_ADDR, VAULT_TOKEN). */
  externalAddr?: string;
  externalToken?: string;
  /** Where a `vault` or `bao` binary is looked for (a PATH value; default: none). */
  searchPath?: string;
  /** Unseal keys of an already initialized server (a restart of the same state dir). */
  unsealKeys?: string[];
  /** The root or operator token of an already initialized server. */
  token?: string;
  secretShares?: number;
  secretThreshold?: number;
  kvMount?: string;
  startTimeoutMs?: number;
  onProgress?: (step: string) => void;
  /** Embedded only: serve HTTPS with these PEM files (clients verify with `ca`). */
  tls?: { certFile: string; keyFile: string };
  /** PEM CA bundle for an https Vault address. */
  ca?: string | Buffer;
  /** Embedded only: the port to reuse when it is free (a restart keeps its address). */
  port?: number;
  /**
   * Called right after a fresh init, before anything else happens: the only moment the unseal
   * keys exist, so the caller persists them here (a crash later must not lose the storage).
   */
  onInit?: (init: { keys: string[]; rootToken: string }) => Promise<void> | void;
}

export interface TemporaryVault {
  readonly kind: "embedded" | "binary" | "external";
  readonly addr: string;
  /** A node-vault client authenticated with the root (or given) token. */
  readonly client: VaultClient;
  /** Present only right after a fresh init; the caller decides how to keep them. */
  readonly init?: { keys: string[]; rootToken: string };
  readonly kvMount: string;
  /** Seals the server and stops the process if strongroom started it. */
  stop(): Promise<void>;
}

/**
 * One flow for every kind of Vault: start (or reach) the server, wait for health, initialize
 * and unseal, mount KV v2 and enable AppRole, and hand back a ready node-vault client.
 */
export async function startTemporaryVault(options: TemporaryVaultOptions): Promise<TemporaryVault> {
  const progress = options.onProgress ?? (() => {});
  const kvMount = options.kvMount ?? "secret";
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  const { kind, server, addr } = await startListening(options, progress);
  try {
    const anonymous = createVaultClient({ addr, ca: options.ca });

    let init: TemporaryVault["init"];
    let token = kind === "external" ? options.externalToken : options.token;
    const status = await anonymous.status();
    if (!status.initialized) {
      progress("initializing");
      const result = await anonymous.init({
        secret_shares: options.secretShares ?? 1,
        secret_threshold: options.secretThreshold ?? 1,
      });
      init = { keys: result.keys_base64 as string[], rootToken: result.root_token as string };
      token = init.rootToken;
      await options.onInit?.(init);
    }
    if ((await anonymous.status()).sealed) {
      progress("unsealing");
      const keys = init?.keys ?? options.unsealKeys;
      if (!keys || keys.length === 0) {
        throw ERRORS.STRONGROOM_ERR_VAULT_SEALED(
          `the Vault at ${addr} is sealed and no unseal keys were given`,
        );
      }
      for (const key of keys) {
        const after = await anonymous.unseal({ key });
        if (!after.sealed) break;
      }
    }
    await waitFor(
      async () => (await anonymous.health()).sealed === false,
      15_000,
      "the Vault to become active",
    );
    if (!token) throw ERRORS.STRONGROOM_ERR_VAULT_TOKEN(`no token to set up the Vault at ${addr}`);

    const client = createVaultClient({ addr, token, ca: options.ca });
    progress("mounting KV v2 and enabling AppRole");
    await ensureKvV2(client, kvMount);
    await ensureAppRole(client);

    return {
      kind,
      addr,
      client,
      init,
      kvMount,
      async stop() {
        if (server) {
          await client.seal().catch(() => undefined);
          await server.stop();
        }
      },
    };
  } catch (error) {
    await server?.stop();
    throw error;
  }
}

/** Starts the server (or reaches an external one) and waits until it answers. */
async function startListening(
  options: TemporaryVaultOptions,
  progress: (message: string) => void,
): Promise<{ kind: TemporaryVault["kind"]; server?: ServerProcess; addr: string }> {
  const started = await startServer(options, progress);
  progress(`waiting for ${started.kind} Vault at ${started.addr}`);
  try {
    await waitForServer(
      createVaultClient({ addr: started.addr, ca: options.ca }),
      started.server,
      options.startTimeoutMs ?? 30_000,
    );
    return started;
  } catch (error) {
    await started.server?.stop();
    throw error;
  }
}

async function startServer(
  options: TemporaryVaultOptions,
  progress: (message: string) => void,
): Promise<{ kind: TemporaryVault["kind"]; server?: ServerProcess; addr: string }> {
  const mode = options.mode;
  if (mode === "external") {
    if (!options.externalAddr) {
      throw ERRORS.STRONGROOM_ERR_VAULT_ADDR("--vault external needs VAULT_ADDR");
    }
    return { kind: "external", addr: options.externalAddr.replace(/\/+$/, "") };
  }
  const binary =
    mode === "embedded"
      ? undefined
      : (options.vaultBin ?? findOnPath(["vault", "bao"], options.searchPath ?? ""));
  if (mode === "binary" && !binary) {
    throw ERRORS.STRONGROOM_ERR_VAULT_BIN(
      "--vault binary needs --vault-bin PATH or a vault/bao on PATH",
    );
  }
  if (binary) {
    const server = await spawnVaultBinary(binary, options.stateDir);
    return { kind: "binary", server, addr: server.addr };
  }
  const server = await spawnEmbeddedServer(join(options.stateDir, "vault"), {
    port: options.port,
    tls: options.tls,
    listenTimeoutMs: options.startTimeoutMs,
    onPortTaken: (port) => progress(`port ${port} was taken: starting the Vault on another one`),
  });
  return { kind: "embedded", server, addr: server.addr };
}

/** The first executable of `names` in the directories of `searchPath` (a PATH value). */
export function findOnPath(names: string[], searchPath: string): string | undefined {
  for (const dir of searchPath.split(delimiter)) {
    for (const name of names) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

async function waitForServer(
  client: VaultClient,
  server: ServerProcess | undefined,
  timeoutMs: number,
) {
  await waitFor(
    async () => {
      if (server && server.child.exitCode !== null) throw serverExitedError(server);
      try {
        await client.health({ standbyok: true });
        return true;
      } catch {
        return false;
      }
    },
    timeoutMs,
    "the Vault server to answer",
  );
}

async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await check().catch((error) =>
        error instanceof StrongroomError ? Promise.reject(error) : false,
      )
    )
      return;
    if (Date.now() > deadline) {
      throw ERRORS.STRONGROOM_ERR_VAULT_TIMEOUT(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function ensureKvV2(client: VaultClient, mount: string): Promise<void> {
  const mounts = await client.mounts();
  const existing = (mounts.data ?? mounts)[`${mount}/`] as
    | { type?: string; options?: { version?: string } }
    | undefined;
  if (existing) {
    if (existing.type !== "kv" || existing.options?.version !== "2") {
      throw ERRORS.STRONGROOM_ERR_VAULT_MOUNT(`${mount}/ is mounted but is not KV version 2`);
    }
    return;
  }
  await client.mount({ mount_point: mount, type: "kv", options: { version: "2" } });
  // A real Vault upgrades a fresh KV v2 mount in the background and answers 400 meanwhile.
  await waitFor(
    async () => {
      try {
        await client.read(`${mount}/config`);
        return true;
      } catch (error) {
        if (vaultStatusOf(error) === 400) return false;
        throw error;
      }
    },
    15_000,
    `the ${mount}/ KV v2 mount to finish upgrading`,
  );
}

async function ensureAppRole(client: VaultClient): Promise<void> {
  const auths = await client.auths();
  if ((auths.data ?? auths)["approle/"]) return;
  await client.enableAuth({ mount_point: "approle", type: "approle" });
}

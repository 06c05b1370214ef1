import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { ERRORS } from "../../lib/errors.js";
import type { StatePki } from "../../state/certificates.js";
import { type BrokerState, STATE_FILES, type StateDir } from "../../state/state-dir.js";
import { openUnsealShares, sealUnsealShares } from "../../state/unseal-shares.js";
import { createOperatorToken, revokeOwnToken } from "../../vault/bootstrap.js";
import { kollaOperatorRules } from "../../vault/kolla-vault.js";
import type { KollaVaultLayout } from "../../vault/kv-layout.js";
import {
  ensureKvV2,
  findOnPath,
  startTemporaryVault,
  type TemporaryVault,
  type VaultMode,
} from "../../vault/temporary-vault.js";
import { createVaultClient, type VaultClient } from "../../vault/vault-client.js";
import type { StrongroomEnvironment } from "../environment.js";
import { checkOperatorToken } from "./operator-token.js";

export interface VaultSession {
  vault: TemporaryVault;
  /** The CA bundle file that verifies the Vault's TLS, when it uses a private CA. */
  caFile?: string;
  /** A client holding the operator token (the root token, if there was one, is revoked). */
  operator: VaultClient;
  operatorToken: string;
  /** True when this run initialized the Vault. */
  fresh: boolean;
}

export interface OpenVaultOptions {
  dir: StateDir;
  mode: VaultMode;
  vaultBin?: string;
  previous?: BrokerState;
  pki: StatePki;
  kvMount: string;
  /** The deployment the operator token is for: it manages that deployment's roles and policies. */
  deployment: string;
  env: Pick<StrongroomEnvironment, "vaultAddr" | "vaultToken" | "vaultCaCert" | "path">;
  log: Logger;
  /**
   * Enable Vault's file audit device in the state dir when this run initializes the Vault
   * (default). `import` builds its state dir elsewhere and moves it: the path would not hold.
   */
  vaultAudit?: boolean;
  /** kolla's Vault layout: its mount is enabled and the operator may write it (first use only). */
  kollaVault?: KollaVaultLayout;
}

/**
 * Starts (or reaches) the Vault, unseals it with the sealed shares of an existing state dir, and
 * on first use trades the root token for the operator token before revoking it. The root token
 * lives only in this function's memory.
 */
export async function openVault(options: OpenVaultOptions): Promise<VaultSession> {
  const { dir, log, pki, env } = options;
  const mode = resolveMode(options.mode, options.previous, options.vaultBin, env.path);
  const hasOperatorToken = dir.has(STATE_FILES.operatorToken);
  if (dir.has(STATE_FILES.unsealShares) && !hasOperatorToken) {
    throw ERRORS.STRONGROOM_ERR_STATE(
      `${dir.path} holds an initialized Vault but no operator token (an earlier \`up\` stopped during ` +
        "bootstrap, before any secret was stored): remove the directory and run `up` again",
    );
  }
  const operatorToken = hasOperatorToken
    ? dir.readText(STATE_FILES.operatorToken).trim()
    : undefined;
  const unsealKeys = dir.has(STATE_FILES.unsealShares) ? await openUnsealShares(dir) : undefined;
  const embedded = mode === "embedded";
  // The embedded Vault is certified by the state dir's CA; any other one by VAULT_CACERT or the
  // system's CAs.
  const caFile = embedded
    ? pki.caFile
    : mode === "external" && env.vaultCaCert
      ? resolve(env.vaultCaCert)
      : undefined;
  const ca = caFile ? readFileSync(caFile) : undefined;
  const previousPort = options.previous
    ? Number(new URL(options.previous.vault.addr).port)
    : undefined;

  const vault = await startTemporaryVault({
    mode,
    stateDir: dir.path,
    vaultBin: options.vaultBin,
    externalAddr: env.vaultAddr,
    // The operator's own token for an external Vault, used only until the operator token exists.
    externalToken: operatorToken ?? env.vaultToken,
    searchPath: env.path,
    token: operatorToken,
    unsealKeys,
    kvMount: options.kvMount,
    ca,
    ...(embedded ? { tls: pki.server, port: previousPort || undefined } : {}),
    onInit: (init) => sealUnsealShares(dir, init.keys),
    onProgress: (step) => log.info(`vault: ${step}`),
  });

  try {
    if (operatorToken) {
      const operator = createVaultClient({ addr: vault.addr, token: operatorToken, ca });
      await checkOperatorToken(operator, dir.file(STATE_FILES.operatorToken));
      return { vault, caFile, operator, operatorToken, fresh: false };
    }
    const kolla = options.kollaVault;
    const token = await createOperatorToken(
      vault.client,
      options.kvMount,
      options.deployment,
      kolla ? kollaOperatorRules(kolla) : [],
    );
    // sys/mounts needs the root (or the operator's own) token: only now, like the operator policy.
    if (kolla) await ensureKvV2(vault.client, kolla.mount);
    dir.write(STATE_FILES.operatorToken, `${token}\n`);
    if (vault.init && options.vaultAudit !== false) {
      // sys/audit needs the root token: enabled once, at init, and kept in Vault's audit table.
      await enableVaultAudit(vault.client, dir.file(STATE_FILES.vaultAuditLog));
      log.info("vault: file audit device enabled (values HMAC'd)");
    }
    if (vault.init) {
      await revokeOwnToken(vault.client);
      log.info(
        "vault: root token revoked; the operator token (state dir) is the only credential left",
      );
    }
    // The lifecycle seals with its own client on stop: from now on that is the operator token.
    vault.client.token = token;
    const operator = createVaultClient({ addr: vault.addr, token, ca });
    return { vault, caFile, operator, operatorToken: token, fresh: vault.init !== undefined };
  } catch (error) {
    await vault.stop();
    throw error;
  }
}

/** Vault's own audit log in the state dir: every request, values HMAC'd. */
async function enableVaultAudit(root: VaultClient, file: string): Promise<void> {
  await root.write("sys/audit/file", {
    type: "file",
    description: "strongroom: every request, values HMAC'd",
    options: { file_path: file, mode: "0600" },
  });
}

/** `auto`: the kind an existing state dir already uses, else a vault/bao binary when there is one. */
function resolveMode(
  mode: VaultMode,
  previous: BrokerState | undefined,
  vaultBin: string | undefined,
  searchPath: string,
): VaultMode {
  if (mode !== "auto") return mode;
  if (previous) return previous.vault.kind;
  return vaultBin || findOnPath(["vault", "bao"], searchPath) ? "binary" : "embedded";
}

/**
 * `strongroom bootstrap`: prepares a running, unsealed Vault (an HA OpenBao/Vault, or the
 * embedded one) for one deployment, and writes what `serve` replicas mount into DIR. One-shot and
 * idempotent: what exists (the operator token, the CA, the certificates, the signer) is kept, and
 * Vault converges (KV mount, AppRole, policies and roles, the stored manifest, the rendered
 * records castellan reads). The admin token is used only to create the operator token, and only
 * when DIR holds none yet.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Logger } from "pino";
import { ensureBrokerSigner } from "../../bundle/export-store.js";
import { type Manifest, parseManifest, readManifestText } from "../../config/manifest.js";
import { configError, ERRORS } from "../../lib/errors.js";
import { createFetchLog } from "../../lib/fetch-log.js";
import { ensureStatePki } from "../../state/certificates.js";
import { STATE_FILES, StateDir } from "../../state/state-dir.js";
import { bootstrapDeployment, createOperatorToken } from "../../vault/bootstrap.js";
import { startTemporaryVault } from "../../vault/temporary-vault.js";
import { createVaultClient, type VaultClient } from "../../vault/vault-client.js";
import type { StrongroomEnvironment } from "../environment.js";
import { createBrokerCore } from "./compose-broker.js";
import { writeIdentitySecret } from "./identity-secret.js";
import { checkOperatorToken } from "./operator-token.js";

/** What DIR holds: the state dir's names, except the token (the name the chart mounts). */
export const BOOTSTRAP_FILES = {
  caCert: STATE_FILES.caCert,
  caKey: STATE_FILES.caKey,
  serverCert: STATE_FILES.serverCert,
  serverKey: STATE_FILES.serverKey,
  operatorToken: "operator-token",
  signerKey: STATE_FILES.bundleSecretKey,
  signerPublicKey: STATE_FILES.bundlePublicKey,
  identities: STATE_FILES.identities,
} as const;

export interface BootstrapOptions {
  manifest: string;
  vaultAddr: string;
  vaultCa?: string;
  kvMount: string;
  out: string;
  /** Names (DNS or IP) clients reach the replicas by, for the server certificate. */
  serverNames: readonly string[];
  env: Pick<StrongroomEnvironment, "vaultToken" | "osloOverrides">;
  log: Logger;
  /** Also keep DIR's files in this Kubernetes Secret (the chart's hook Job). */
  k8sSecret?: string;
}

export interface BootstrapResult {
  deployment: string;
  vault: string;
  kvMount: string;
  out: string;
  /** True when this run created the operator token. */
  tokenCreated: boolean;
  services: number;
  removed: string[];
  rendered: { written: number; removed: number };
  files: Record<keyof typeof BOOTSTRAP_FILES, string>;
  /** What `--k8s-secret` did: "kubernetes Secret ns/name created", "... unchanged". */
  k8sSecret?: string;
}

export async function runBootstrap(options: BootstrapOptions): Promise<BootstrapResult> {
  const { log, kvMount } = options;
  const manifestFile = resolve(options.manifest);
  const manifestText = readManifestText(manifestFile);
  const manifest: Manifest = parseManifest(manifestText, manifestFile);
  const deployment = manifest.deployment.name;
  const ca = options.vaultCa ? readCa(options.vaultCa) : undefined;
  const dir = StateDir.create(options.out);

  await checkVaultReady(createVaultClient({ addr: options.vaultAddr, ca }), options.vaultAddr);
  const existing = dir.has(BOOTSTRAP_FILES.operatorToken)
    ? dir.readText(BOOTSTRAP_FILES.operatorToken).trim()
    : undefined;
  const setupToken = existing ?? options.env.vaultToken;
  if (!setupToken) {
    throw ERRORS.STRONGROOM_ERR_VAULT_TOKEN(
      `${dir.file(BOOTSTRAP_FILES.operatorToken)} does not exist yet: give an admin token in VAULT_TOKEN`,
    );
  }
  // KV v2 mount and AppRole: made with the admin token, checked with the operator token later.
  const vault = await startTemporaryVault({
    mode: "external",
    stateDir: dir.path,
    externalAddr: options.vaultAddr,
    externalToken: setupToken,
    kvMount,
    ca,
    onProgress: (step) => log.info(`vault: ${step}`),
  });
  let token = existing;
  if (!token) {
    token = await createOperatorToken(vault.client, kvMount, deployment);
    dir.write(BOOTSTRAP_FILES.operatorToken, `${token}\n`);
    log.info("vault: operator token created");
  }
  const operator = createVaultClient({ addr: vault.addr, token, ca });
  await checkOperatorToken(operator, dir.file(BOOTSTRAP_FILES.operatorToken));

  const report = await bootstrapDeployment(operator, { manifest, manifestText, kvMount });
  await ensureStatePki(dir, {
    services: [...manifest.services.keys()].sort(),
    hosts: options.serverNames,
  });
  await ensureBrokerSigner(dir);

  // Before replicas serve: an interrupted seed is undone, and the castellan records follow the
  // manifest (which may have changed since the last bootstrap).
  const { broker } = await createBrokerCore({
    manifest,
    operator,
    vaultAddr: vault.addr,
    ...(options.vaultCa && { vaultCaFile: resolve(options.vaultCa) }),
    kvMount,
    env: options.env,
    fetches: createFetchLog(),
    log,
  });
  const recovered = await broker.recoverSeed();
  if (recovered) log.warn({ file: recovered.file }, "rolled back a seed that did not finish");
  const rendered = await broker.syncRendered();

  const files = Object.fromEntries(
    Object.entries(BOOTSTRAP_FILES).map(([key, name]) => [key, dir.file(name)]),
  ) as BootstrapResult["files"];
  let k8sSecret: string | undefined;
  if (options.k8sSecret) {
    const written = await writeIdentitySecret({
      dir: dir.path,
      name: options.k8sSecret,
      deployment,
    });
    k8sSecret = written.detail;
    log.info({ secret: options.k8sSecret, written: written.written }, written.detail);
  }
  return {
    deployment,
    vault: vault.addr,
    kvMount,
    out: dir.path,
    tokenCreated: existing === undefined,
    services: report.services.length,
    removed: report.removed,
    rendered,
    files,
    ...(k8sSecret && { k8sSecret }),
  };
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw configError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/** bootstrap prepares a Vault an operator initialized and unsealed: it never holds unseal keys. */
async function checkVaultReady(anonymous: VaultClient, addr: string): Promise<void> {
  const status = await anonymous.status().catch((error: Error) => {
    throw ERRORS.STRONGROOM_ERR_VAULT(`cannot reach the Vault at ${addr}: ${error.message}`);
  });
  if (!status.initialized) {
    throw ERRORS.STRONGROOM_ERR_VAULT(
      `the Vault at ${addr} is not initialized: initialize and unseal it first (vault operator init)`,
    );
  }
  if (status.sealed) {
    throw ERRORS.STRONGROOM_ERR_VAULT_SEALED(`the Vault at ${addr} is sealed: unseal it first`);
  }
}

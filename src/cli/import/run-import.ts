/**
 * `strongroom import`: check the target, verify the whole bundle, then build the new state dir
 * beside the target (a hidden staging dir) with its own temporary Vault, load it, seal and stop
 * the Vault, and only then move the staging dir into place. Until that last rename the target is
 * untouched, so any failure (or a signal) leaves it exactly as it was.
 */

import { join, resolve } from "node:path";
import type { Logger } from "pino";
import {
  checkNewer,
  defaultTrustStateFile,
  readImportHistory,
  recordImport,
} from "../../bundle/import-history.js";
import {
  type BundleContents,
  checkIdentities,
  loadSecrets,
  readContents,
  withCurrentNames,
} from "../../bundle/import-store.js";
import { readPublicKeyFile, readSecretKeyFile } from "../../bundle/keys.js";
import { openBundle } from "../../bundle/reader.js";
import { type Manifest, parseManifest, secretsReferencedBy } from "../../config/manifest.js";
import { openAuditLog } from "../../lib/audit-log.js";
import { CleanupStack } from "../../lib/cleanup-stack.js";
import { ERRORS } from "../../lib/errors.js";
import { ensureStatePki } from "../../state/certificates.js";
import { STATE_FILES, StateDir } from "../../state/state-dir.js";
import { bootstrapDeployment } from "../../vault/bootstrap.js";
import { bootstrapKollaAccess, kollaLayoutOf } from "../../vault/kolla-vault.js";
import { servicePolicyName, serviceRoleName } from "../../vault/kv-layout.js";
import type { StrongroomEnvironment } from "../environment.js";
import { DEFAULT_LISTEN, parseListenAddress } from "../listen-address.js";
import { createCliLogging } from "../logger.js";
import { progressLine } from "../shared-options.js";
import { openVault, type VaultSession } from "../up/open-vault.js";
import {
  removeImportedDeployment,
  requireEmptyDeployment,
  revokeOperatorToken,
} from "./external-vault.js";
import { checkTarget, commitStaging, createStaging } from "./staging.js";

export interface ImportOptions {
  file: string;
  keyFile: string;
  trustFile: string;
  /** The node's memory of the bundles it imported (import-history.ts); default beside the key. */
  trustStateFile?: string;
  /** Import a bundle that is not newer than the last one from its signer. */
  allowOlder: boolean;
  /** Absolute. */
  stateDir: string;
  replace: boolean;
  vault: "embedded" | "binary" | "external";
  vaultBin?: string;
  env: StrongroomEnvironment;
}

export interface ImportReport {
  stateDir: string;
  deployment: string;
  createdAt: string;
  sequence: number | null;
  signer: string;
  trustState: string;
  secrets: number;
  versions: number;
  services: number;
  vault: { kind: string; kvMount: string };
}

export async function runImport(options: ImportOptions): Promise<ImportReport> {
  const key = readSecretKeyFile(options.keyFile);
  const trustState = resolve(options.trustStateFile ?? defaultTrustStateFile(options.keyFile));
  const trust = readPublicKeyFile(options.trustFile);
  checkTarget(options.stateDir, options.replace);

  const bundle = await openBundle(options.file, { key, trust: [trust] });
  progressLine(`import: verifying ${options.file}…`);
  const verified = await bundle.verifyAll();
  const { header } = bundle;
  if (verified.records !== header.counts["records"]) {
    throw ERRORS.STRONGROOM_ERR_BUNDLE_CONTENT(
      `${options.file}: ${verified.records} records, the header says ${header.counts["records"]}`,
    );
  }
  // The leading records are read (and the manifest checked) before anything is created.
  const contents = await readContents(bundle.records(), {
    deployment: header.deployment,
    secrets: header.counts["secrets"] ?? 0,
  });
  parseBundledManifest(contents, `${options.file} (manifest ${contents.manifest.file})`);
  const manifest = recreatedManifest(contents, options.stateDir);
  // Only now: a damaged bundle is reported as damaged, not as old.
  const candidate = { file: options.file, header, headerHash: bundle.headerHash };
  if (!options.allowOlder) checkNewer(readImportHistory(trustState), candidate);

  // Undo failures are not reported: the import's own failure (or the signal) is what matters.
  const cleanups = new CleanupStack();
  const { default: closeWithGrace } = await import("close-with-grace");
  const grace = closeWithGrace({ delay: 20_000 }, () => cleanups.run().catch(() => {}));
  try {
    const staging = createStaging(options.stateDir, cleanups);
    const loaded = await loadIntoStaging(staging, contents, manifest, options, cleanups);
    // Remembered before the rename: a crash in between refuses this bundle once too often
    // (--allow-older), rather than accepting an older one.
    cleanups.push(recordImport(trustState, candidate, options));
    commitStaging(staging, options.stateDir, options.replace);
    cleanups.clear();
    await auditImport(options, header, loaded.secrets);
    return {
      stateDir: options.stateDir,
      deployment: contents.deployment.deployment,
      createdAt: header.createdAt,
      sequence: header.sequence,
      signer: header.signer,
      trustState,
      ...loaded,
    };
  } catch (error) {
    await cleanups.run().catch(() => {});
    throw error;
  } finally {
    grace.uninstall();
  }
}

/** The imported state dir's audit log starts with the import. */
async function auditImport(
  options: ImportOptions,
  header: { deployment: string | null; sequence: number | null; signer: string },
  secrets: number,
): Promise<void> {
  const dir = StateDir.create(options.stateDir);
  const audit = openAuditLog({
    file: dir.file(STATE_FILES.auditLog),
    keyFile: dir.file(STATE_FILES.auditKey),
  });
  audit.record({
    event: "import",
    identity: "import",
    file: resolve(options.file),
    deployment: header.deployment,
    sequence: header.sequence,
    signer: header.signer,
    secrets,
  });
  await audit.close();
}

function parseBundledManifest(contents: BundleContents, file: string): Manifest {
  return parseManifest(contents.manifest.text, file);
}

/**
 * The manifest as it will live in the final state dir (drivers resolve relative to it), checked
 * to recreate exactly the service identities the source exported.
 */
function recreatedManifest(contents: BundleContents, stateDir: string): Manifest {
  const manifest = parseBundledManifest(contents, join(stateDir, STATE_FILES.importedManifest));
  const deployment = contents.deployment.deployment;
  checkIdentities(
    contents.deployment.services.map((record) => withCurrentNames(deployment, record)),
    [...manifest.services.keys()].map((service) => ({
      service,
      policy: servicePolicyName(deployment, service),
      role: serviceRoleName(deployment, service),
      secrets: secretsReferencedBy(manifest, service),
    })),
  );
  return manifest;
}

async function loadIntoStaging(
  staging: string,
  contents: BundleContents,
  manifest: Manifest,
  options: ImportOptions,
  cleanups: CleanupStack,
): Promise<Pick<ImportReport, "secrets" | "versions" | "services" | "vault">> {
  const { deployment, kvMount } = contents.deployment;
  const finalManifest = manifest.file;
  const services = [...manifest.services.keys()].sort();
  const dir = StateDir.create(staging);
  const log: Logger = createCliLogging({ level: "warn" }).logger;
  const pki = await ensureStatePki(dir, { services, hosts: [] });
  progressLine(`import: starting a ${options.vault} Vault`);
  const session: VaultSession = await openVault({
    dir,
    mode: options.vault,
    vaultBin: options.vaultBin,
    env: options.env,
    pki,
    kvMount,
    deployment,
    log,
    vaultAudit: false,
    kollaVault: kollaLayoutOf(manifest),
  });
  const stopVault = cleanups.push(() => session.vault.stop());
  const { operator, vault } = session;
  if (vault.kind === "external") {
    // Registered until the state dir is in place: an external Vault outlives a failed import.
    cleanups.push(() => revokeOperatorToken(operator));
    await requireEmptyDeployment(operator, kvMount, deployment);
    cleanups.push(() => removeImportedDeployment(operator, kvMount, deployment, services));
  }

  await bootstrapDeployment(operator, {
    manifest,
    manifestText: contents.manifest.text,
    kvMount,
  });
  await bootstrapKollaAccess(operator, manifest);
  const loaded = await loadSecrets(
    { client: operator, kvMount, deployment },
    contents.secrets,
    (progress) => {
      if (progress.secrets % 500 === 0) progressLine(`import: ${progress.secrets} secrets loaded`);
    },
  );

  dir.write(STATE_FILES.importedManifest, contents.manifest.text);
  const listen = parseListenAddress(DEFAULT_LISTEN);
  dir.writeState({
    deployment,
    manifest: finalManifest,
    broker: { url: `https://${listen.host}:${listen.port}`, host: listen.host, port: listen.port },
    vault: {
      kind: vault.kind,
      addr: vault.addr,
      kvMount,
      // The embedded Vault's CA is the state dir's own, at its final place.
      ...(session.caFile && {
        caFile:
          vault.kind === "embedded" ? join(options.stateDir, STATE_FILES.caCert) : session.caFile,
      }),
    },
    pid: null,
  });
  // Sealed and stopped before the staging dir moves.
  cleanups.remove(stopVault);
  await stopVault();
  return {
    ...loaded,
    services: services.length,
    vault: { kind: vault.kind, kvMount },
  };
}

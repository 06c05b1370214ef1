/**
 * The composition root of `strongroom up`: state dir → PKI → Vault (started, unsealed, root
 * token traded for the operator token) → bootstrap → drivers → broker service → optional seed →
 * HTTPS server. Each step registers how to undo itself, so a failure or a signal at any point
 * closes what was opened, in reverse order.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import type { Logger, LoggerOptions } from "pino";
import type { SeedReport } from "../../broker/broker-service.js";
import { signerSequence } from "../../bundle/export-sequence.js";
import { ensureBrokerSigner } from "../../bundle/export-store.js";
import { type Manifest, parseManifest, readManifestText } from "../../config/manifest.js";
import { openAuditLog } from "../../lib/audit-log.js";
import { type AuditSinkChoice, openAuditSinks } from "../../lib/audit-sinks.js";
import type { CleanupStack } from "../../lib/cleanup-stack.js";
import { configError, ERRORS, usageError } from "../../lib/errors.js";
import { createFetchLog } from "../../lib/fetch-log.js";
import { isProcessAlive } from "../../lib/process-alive.js";
import type { RotationStep } from "../../rotation/rotation-record.js";
import type { RunningBrokerServer } from "../../server/server.js";
import { ensureStatePki } from "../../state/certificates.js";
import { type BrokerState, STATE_FILES, StateDir } from "../../state/state-dir.js";
import { type BootstrapReport, bootstrapDeployment } from "../../vault/bootstrap.js";
import { bootstrapKollaAccess, kollaLayoutOf } from "../../vault/kolla-vault.js";
import { DEFAULT_KV_MOUNT } from "../../vault/kv-layout.js";
import { upgradeLegacyNames } from "../../vault/legacy-names.js";
import type { VaultMode } from "../../vault/temporary-vault.js";
import type { VaultClient } from "../../vault/vault-client.js";
import type { StrongroomEnvironment } from "../environment.js";
import { DEFAULT_LISTEN, isLoopback, parseListenAddress } from "../listen-address.js";
import { createBrokerCore, startServing } from "./compose-broker.js";
import { openVault } from "./open-vault.js";

export interface UpOptions {
  /** Default: the manifest the state dir records (an earlier `up`, or an import). */
  manifest?: string;
  seed?: string;
  stateDir: string;
  listen?: string;
  vault: VaultMode;
  vaultBin?: string;
  overrides?: string;
  kvMount?: string;
  /**
   * Run the manifest's `rotate.schedule`s. Default: yes, except in a state dir made by `import`
   * (the source site may still run them: two sites must not rotate one account).
   */
  schedules?: boolean;
  /** Where audit records go besides audit.log (stdout, syslog). */
  auditSinks?: AuditSinkChoice;
  /** The environment `up` started with: OS_<GROUP>__<OPTION> overrides and VAULT_* settings. */
  env: StrongroomEnvironment;
}

/** Seams a test composition may fill; the CLI passes none. */
export interface UpHooks {
  /** Called after each persisted rotation step. */
  afterRotationStep?: (step: RotationStep) => void;
  /** Called after each secret a seed wrote, with how many it wrote so far. */
  afterSeedWrite?: (written: number) => void;
}

export interface RunningStrongroom {
  state: BrokerState;
  dir: StateDir;
  manifest: Manifest;
  bootstrap: BootstrapReport;
  seed?: SeedReport;
  fresh: boolean;
  /** Closes the server, seals and stops the Vault strongroom started, marks the state stopped. */
  stop(): Promise<void>;
}

export async function runUp(
  options: UpOptions,
  logging: { logger: Logger; options: LoggerOptions },
  cleanups: CleanupStack,
  hooks: UpHooks = {},
): Promise<RunningStrongroom> {
  const log = logging.logger;
  const manifestFile = resolve(options.manifest ?? recordedManifest(options.stateDir));
  const { manifest, text: manifestText } = readManifest(manifestFile);
  const deployment = manifest.deployment.name;
  const services = [...manifest.services.keys()].sort();
  const seedText = options.seed === undefined ? undefined : readSeed(options.seed);
  // Checked before anything is created.
  if (options.listen !== undefined) parseListenAddress(options.listen);
  if (options.overrides !== undefined && !isDirectory(options.overrides)) {
    throw configError(`--overrides ${options.overrides} is not a directory`);
  }

  const dir = StateDir.create(options.stateDir);
  const previous = dir.readState();
  const imported = existsSync(dir.file(STATE_FILES.importedManifest));
  const schedules = options.schedules ?? !imported;
  checkNotRunning(dir, previous);
  if (previous && previous.deployment !== deployment) {
    throw configError(
      `${dir.path} belongs to deployment "${previous.deployment}", not "${deployment}": use another --state-dir`,
    );
  }
  const listen = parseListenAddress(options.listen ?? listenOf(previous) ?? DEFAULT_LISTEN);
  const kvMount = options.kvMount ?? previous?.vault.kvMount ?? DEFAULT_KV_MOUNT;

  const auditLog = openAuditLog(
    { file: dir.file(STATE_FILES.auditLog), keyFile: dir.file(STATE_FILES.auditKey) },
    (err) => log.error({ err }, "audit log: a record could not be written"),
    openAuditSinks(options.auditSinks ?? {}, (err) =>
      log.warn({ err }, "audit sink: a record could not be sent (audit.log has it)"),
    ),
  );
  // Pushed first, so closed last: after the server and the rotations stopped recording.
  cleanups.push(() => auditLog.close());
  const audit = auditLog.record;
  audit({ event: "broker-start", identity: "up", deployment, pid: process.pid });

  const pki = await ensureStatePki(dir, { services, hosts: certificateHosts(listen.host) });
  // Signs the bundles this broker exports; importing sites trust its public half.
  const signer = await ensureBrokerSigner(dir);
  const session = await openVault({
    dir,
    mode: options.vault,
    vaultBin: options.vaultBin,
    previous,
    pki,
    kvMount,
    deployment,
    env: options.env,
    log,
    kollaVault: kollaLayoutOf(manifest),
  });
  const { vault, operator } = session;
  cleanups.push(async () => {
    await vault.stop();
    log.info(
      vault.kind === "external" ? "vault: left running (external)" : "vault: sealed and stopped",
    );
  });
  log.info({ kind: vault.kind, addr: vault.addr, fresh: session.fresh }, "vault ready");

  const bootstrap = await bootstrapDeployment(operator, {
    manifest,
    manifestText,
    kvMount,
  });
  log.info(
    { services: bootstrap.services.length, removed: bootstrap.removed },
    "vault bootstrapped: one policy and AppRole per service",
  );
  const kolla = await bootstrapKollaAccess(operator, manifest);
  if (kolla) log.info(kolla, "vault: kolla's layout kept, readable by the kolla-readpwd AppRole");
  await upgradeOldState(operator, {
    deployment,
    kvMount,
    services: [...bootstrap.services.map((s) => s.service), ...bootstrap.removed],
    shared: vault.kind === "external",
    tokenFile: dir.file(STATE_FILES.operatorToken),
    log,
  });

  const fetches = createFetchLog();
  const core = await createBrokerCore({
    manifest,
    operator,
    vaultAddr: vault.addr,
    ...(session.caFile && { vaultCaFile: session.caFile }),
    kvMount,
    overrides: options.overrides,
    env: options.env,
    fetches,
    ...(hooks.afterSeedWrite && { afterSeedWrite: hooks.afterSeedWrite }),
    log,
  });
  const { broker } = core;

  const recovered = await broker.recoverSeed();
  if (recovered) {
    audit({
      event: "seed-rollback",
      identity: "up",
      file: recovered.file,
      removed: recovered.removed,
      kept: recovered.kept,
    });
    log.warn(
      { ...recovered, kept: recovered.kept.length ? recovered.kept : undefined },
      "rolled back a seed that did not finish: seed it again",
    );
  }
  let seed: SeedReport | undefined;
  if (seedText !== undefined && options.seed !== undefined) {
    seed = await broker.seed({ text: seedText, file: options.seed, generate: true, dryRun: false });
    log.info({ file: options.seed, written: seed.written, ...countActions(seed) }, "seeded");
    audit({
      event: "seed",
      identity: "up",
      file: options.seed,
      dryRun: false,
      written: seed.written,
      entries: seed.entries.map((e) => ({ name: e.name, action: e.action })),
    });
    const differing = seed.entries.filter((e) => e.action === "differs").map((e) => e.name);
    if (differing.length > 0) {
      log.warn(
        { file: options.seed, differing },
        "kept stored secrets whose seed value differs (strongroom rotate changes them)",
      );
    }
  }
  // The records castellan reads straight from Vault follow the manifest, which may have changed.
  const synced = await broker.syncRendered();
  log.info(synced, "castellan records in sync");
  const mirrored = await broker.syncMirror();
  if (mirrored) log.info(mirrored, "kolla_vault: copies in sync");

  const { server } = await startServing(
    {
      core,
      manifest,
      operator,
      operatorToken: session.operatorToken,
      kvMount,
      fetches,
      // Stable across restarts of this state dir, so a restarted broker resumes its own rotations.
      rotationOwner: `${hostname()}:${dir.path}`,
      schedules,
      signer: { keys: signer, nextSequence: signerSequence(dir) },
      audit,
      ready: async () =>
        (await vault.client.health({ standbyok: true }).catch(() => undefined))?.sealed === false,
      listen,
      tls: {
        cert: dir.read(STATE_FILES.serverCert),
        key: dir.read(STATE_FILES.serverKey),
        ca: pki.ca.cert,
      },
      logging,
      ...(hooks.afterRotationStep && { afterRotationStep: hooks.afterRotationStep }),
      schedulesOffReason: {
        fields: { imported },
        message: imported
          ? "rotation schedules are off in an imported state dir: `up --schedules` runs them here"
          : "rotation schedules are off (--no-schedules)",
      },
    },
    cleanups,
  );

  const state = dir.writeState({
    deployment,
    manifest: manifestFile,
    broker: { url: advertisedUrl(listen.host, server), host: listen.host, port: server.port },
    vault: {
      kind: vault.kind,
      addr: vault.addr,
      kvMount,
      ...(session.caFile && { caFile: session.caFile }),
    },
    pid: process.pid,
  });
  cleanups.push(() => {
    dir.writeState({ ...state, pid: null });
  });
  log.info({ url: server.address }, "broker listening (HTTPS, mTLS or token)");

  return {
    state,
    dir,
    manifest,
    bootstrap,
    seed,
    fresh: session.fresh,
    stop: () => cleanups.run(),
  };
}

export function countActions(report: SeedReport): Record<string, number> {
  const counts: Record<string, number> = { imported: 0, generated: 0, kept: 0, missing: 0 };
  const key = {
    import: "imported",
    generate: "generated",
    keep: "kept",
    differs: "differing",
    missing: "missing",
  } as const;
  for (const entry of report.entries) counts[key[entry.action]]! += 1;
  return counts;
}

/** Read once: the parsed manifest, and its text for the copy bootstrap keeps in Vault. */
function readManifest(file: string): { manifest: Manifest; text: string } {
  const text = readManifestText(file);
  return { manifest: parseManifest(text, file), text };
}

/** The manifest path state.json records, read without creating the state dir. */
function recordedManifest(stateDir: string): string {
  let recorded: unknown;
  try {
    const stateFile = join(stateDir, STATE_FILES.state);
    if (existsSync(stateFile)) recorded = JSON.parse(readFileSync(stateFile, "utf8")).manifest;
  } catch {
    // unreadable: the usage error below says what to do
  }
  if (typeof recorded !== "string") {
    throw usageError(`--manifest is required: ${stateDir} records no manifest yet`);
  }
  return recorded;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function readSeed(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw configError(
      `cannot read the seed file ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
}

function checkNotRunning(dir: StateDir, previous: BrokerState | undefined): void {
  if (previous?.pid && previous.pid !== process.pid && isProcessAlive(previous.pid)) {
    throw ERRORS.STRONGROOM_ERR_ALREADY_RUNNING(
      `strongroom is already running on ${dir.path} (pid ${previous.pid}, ${previous.broker.url})`,
    );
  }
}

function listenOf(previous: BrokerState | undefined): string | undefined {
  if (!previous) return undefined;
  const host = previous.broker.host.includes(":")
    ? `[${previous.broker.host}]`
    : previous.broker.host;
  return `${host}:${previous.broker.port}`;
}

const isWildcard = (host: string) => host === "0.0.0.0" || host === "::" || host === "";

/** Names the server certificate must carry beyond loopback, for the address clients will use. */
function certificateHosts(listenHost: string): string[] {
  if (isWildcard(listenHost)) return [hostname()];
  return isLoopback(listenHost) ? [] : [listenHost];
}

/** The URL kits and the CLI use: a wildcard listener is reached by the host's name. */
function advertisedUrl(listenHost: string, server: RunningBrokerServer): string {
  return isWildcard(listenHost) ? `https://${hostname()}:${server.port}` : server.address;
}

/** A state dir bootstrapped by an older version: its old-style names, its broad operator policy. */
async function upgradeOldState(
  operator: VaultClient,
  options: {
    deployment: string;
    kvMount: string;
    services: string[];
    shared: boolean;
    tokenFile: string;
    log: Logger;
  },
): Promise<void> {
  const { log } = options;
  const upgrade = await upgradeLegacyNames(operator, options);
  if (upgrade.retired.length > 0) {
    log.warn(
      { services: upgrade.retired },
      "vault: AppRoles and policies of an older version removed; service kits made before need `service-kit` again",
    );
  }
  if (upgrade.operatorPolicy === "broad") {
    log.warn(
      `vault: the operator token predates per-deployment operator policies and may still rewrite any strongroom-* policy on this shared Vault; to replace it, stop \`up\`, remove ${options.tokenFile} and run \`up\` again with VAULT_TOKEN`,
    );
  } else if (upgrade.operatorPolicy === "narrowed") {
    log.info("vault: the operator token's policy now covers this deployment only");
  }
}

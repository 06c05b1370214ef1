/**
 * The broker's composition, shared by `up` (which first opens its own Vault and state dir) and
 * `serve` (a stateless replica in front of a Vault `bootstrap` prepared): drivers → broker
 * service, then rotations → token renewal → HTTPS server. Each step registers its undo on the
 * caller's cleanup stack.
 */
import type { Logger, LoggerOptions } from "pino";
import {
  configSourcesAmong,
  createDriverRegistry,
  type DriverRegistry,
  registerManifestDrivers,
} from "../../../drivers/registry.js";
import type { KeyManager } from "../../../drivers/types.js";
import { createAuthenticator } from "../../broker/authenticator.js";
import { createConfigSources } from "../../broker/config-sources.js";
import { createBrokerService, type StrongroomBroker } from "../../broker/create-broker-service.js";
import { createKitRegistry } from "../../broker/kits.js";
import { createPasswordFiles } from "../../broker/password-files.js";
import type { NextSequence } from "../../bundle/export-sequence.js";
import { createBundleExporter } from "../../bundle/export-store.js";
import type { BundleKeyPair } from "../../bundle/keys.js";
import type { Manifest } from "../../config/manifest.js";
import type { AuditEvent } from "../../lib/audit-log.js";
import type { CleanupStack } from "../../lib/cleanup-stack.js";
import type { FetchLog } from "../../lib/fetch-log.js";
import { type BrokerRotations, createBrokerRotations } from "../../rotation/create-rotations.js";
import type { RotationStep } from "../../rotation/rotation-record.js";
import { createSecretSinks, type SecretSinks } from "../../rotation/secret-sinks.js";
import type { RateLimitSettings } from "../../server/rate-limit.js";
import {
  type BrokerTls,
  type RunningBrokerServer,
  startBrokerServer,
} from "../../server/server.js";
import { createKollaMirror } from "../../vault/kolla-mirror.js";
import { kollaLayoutOf } from "../../vault/kolla-vault.js";
import { createVaultRecordStore, type RecordStore } from "../../vault/record-store.js";
import type { VaultClient } from "../../vault/vault-client.js";
import type { StrongroomEnvironment } from "../environment.js";

/** The operator token is periodic (24 h): renewing hourly keeps it alive with a wide margin. */
const RENEW_EVERY_MS = 60 * 60_000;

export interface BrokerCoreOptions {
  manifest: Manifest;
  /** A client holding the operator token. */
  operator: VaultClient;
  /** The Vault address services' castellan uses, and the CA file that verifies it. */
  vaultAddr: string;
  vaultCaFile?: string;
  kvMount: string;
  overrides?: string;
  env: Pick<StrongroomEnvironment, "osloOverrides">;
  fetches: FetchLog;
  /** The deployment's record store; made here when absent. */
  records?: RecordStore;
  afterSeedWrite?: (written: number) => void;
  onWritten?: (names: readonly string[]) => void;
  log: Logger;
}

export interface BrokerCore {
  broker: StrongroomBroker;
  keyManager: KeyManager;
  records: RecordStore;
  registry: DriverRegistry;
  /** The manifest's Kubernetes Secret sinks (and any other), written after seeds and commits. */
  sinks: SecretSinks;
}

/** Drivers (the manifest's own too), the key manager on Vault, the config sources, the broker. */
export async function createBrokerCore(options: BrokerCoreOptions): Promise<BrokerCore> {
  const { manifest, operator, kvMount, log } = options;
  const deployment = manifest.deployment.name;
  const registry = createDriverRegistry();
  const manifestDrivers = await registerManifestDrivers(registry, manifest);
  const keyManager = await registry
    .keyManager("vault")
    .create({ client: operator, mount: kvMount }, { deployment });
  const sources = await createConfigSources({
    manifest,
    keyManager,
    registry,
    thirdParty: configSourcesAmong(manifestDrivers),
    overridesDir: options.overrides,
    env: options.env.osloOverrides,
  });
  const records =
    options.records ?? createVaultRecordStore({ client: operator, mount: kvMount, deployment });
  const sinks = createSecretSinks({ manifest, keyManager, registry });
  const kolla = kollaLayoutOf(manifest);
  const broker = createBrokerService({
    manifest,
    keyManager,
    sources,
    vaultUrl: options.vaultAddr,
    ...(options.vaultCaFile && { caFile: options.vaultCaFile }),
    kvMount,
    records,
    fetches: options.fetches,
    ...(options.afterSeedWrite && { afterSeedWrite: options.afterSeedWrite }),
    ...(options.onWritten && { onWritten: options.onWritten }),
    ...(kolla && {
      mirror: createKollaMirror({ client: operator, layout: kolla }),
      onMirrorFailure: (err: unknown) =>
        log.error({ err }, "kolla_vault: a copy was not written (tried again at the next write)"),
    }),
    ...(sinks.count > 0 && {
      afterSeed: async () => {
        for (const report of await sinks.sync()) log.info(report, "secret sink");
      },
    }),
  });
  return { broker, keyManager, records, registry, sinks };
}

export interface ServingOptions {
  core: BrokerCore;
  manifest: Manifest;
  operator: VaultClient;
  operatorToken: string;
  kvMount: string;
  fetches: FetchLog;
  /** Who holds rotation locks: stable across restarts for `up`, one per process for `serve`. */
  rotationOwner: string;
  rotationLockTtlMs?: number;
  schedules: boolean;
  /** Signs export bundles; without it the broker offers no export. */
  signer?: { keys: BundleKeyPair; nextSequence: NextSequence };
  audit: (event: AuditEvent) => void;
  ready: () => Promise<boolean>;
  listen: { host: string; port: number };
  tls: BrokerTls;
  logging: { logger: Logger; options: LoggerOptions };
  afterRotationStep?: (step: RotationStep) => void;
  /** Per-client-address limits (default: the broker's); a replica behind a proxy lifts `read`. */
  rateLimit?: RateLimitSettings;
  /** Told why schedules are off, when the manifest has some. */
  schedulesOffReason?: { message: string; fields?: Record<string, unknown> };
}

export interface Serving {
  rotations: BrokerRotations;
  server: RunningBrokerServer;
}

/** Rotations (with the schedules), operator token renewal, then the HTTPS server. */
export async function startServing(
  options: ServingOptions,
  cleanups: CleanupStack,
): Promise<Serving> {
  const { core, manifest, operator, kvMount, audit } = options;
  const log = options.logging.logger;
  const deployment = manifest.deployment.name;
  const rotations = await createBrokerRotations({
    manifest,
    keyManager: core.keyManager,
    records: core.records,
    registry: core.registry,
    commit: (secret, value, expected) => core.broker.commitSecret(secret, value, expected),
    fetches: options.fetches,
    ...(core.sinks.count > 0 && { sinks: core.sinks }),
    owner: options.rotationOwner,
    ...(options.rotationLockTtlMs !== undefined && { lockTtlMs: options.rotationLockTtlMs }),
    log: (level, event, fields) => log[level](fields ?? {}, event),
    ...(options.afterRotationStep && { afterPersist: options.afterRotationStep }),
    audit,
    schedules: options.schedules,
  });
  cleanups.push(() => rotations.close());
  if (!options.schedules && [...manifest.secrets.values()].some((s) => s.rotate.schedule)) {
    const reason = options.schedulesOffReason ?? { message: "rotation schedules are off" };
    log.warn(reason.fields ?? {}, reason.message);
  }
  for (const open of (await rotations.service.list()).filter((r) => r.resume !== undefined)) {
    log.warn(
      { rotation: open.id, secret: open.secret, step: open.step, status: open.status },
      `unfinished rotation: run strongroom rotate --resume ${open.id} (it will ${open.resume})`,
    );
  }

  const renewal = setInterval(() => {
    operator
      .write("auth/token/renew-self", {})
      .catch((err: Error) => log.warn({ err }, "operator token renewal failed"));
  }, RENEW_EVERY_MS);
  cleanups.push(() => clearInterval(renewal));

  // Revoked kits' serials, read before the server accepts a certificate.
  const kits = await createKitRegistry({
    records: core.records,
    vault: operator,
    deployment,
    services: [...manifest.services.keys()].sort(),
    onRefreshError: (err) => log.warn({ err }, "kits: the revocation list could not be read"),
  });
  cleanups.push(() => kits.close());

  const server = await startBrokerServer({
    deps: {
      broker: core.broker,
      ...(options.signer && {
        exporter: createBundleExporter({
          client: operator,
          kvMount,
          deployment,
          signer: options.signer.keys,
          nextSequence: options.signer.nextSequence,
        }),
      }),
      passwords: createPasswordFiles({
        deployment,
        keyManagerFor: async (other) =>
          other === deployment
            ? core.keyManager
            : core.registry
                .keyManager("vault")
                .create({ client: operator, mount: kvMount }, { deployment: other }),
      }),
      auth: createAuthenticator({
        deployment,
        services: [...manifest.services.keys()].sort(),
        operatorToken: options.operatorToken,
        vault: operator,
        revoked: kits,
      }),
      kits,
      logger: options.logging.options,
      audit,
      rotations: {
        rotations: rotations.service,
        schedules: () => rotations.scheduler.schedules(),
      },
      ready: options.ready,
      ...(options.rateLimit && { rateLimit: options.rateLimit }),
    },
    host: options.listen.host,
    port: options.listen.port,
    tls: options.tls,
  });
  cleanups.push(async () => {
    await server.close();
    log.info("broker: closed");
  });
  return { rotations, server };
}

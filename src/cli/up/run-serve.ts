/**
 * `strongroom serve`: one stateless broker replica in front of a Vault `bootstrap` prepared.
 * Everything comes from flags, the environment and files mounted read-only; nothing is written
 * locally: logs and audit records are JSON lines on stdout (audit records also to syslog with
 * --audit-syslog); the bundle sequence counter is in Vault. Any number of replicas may serve
 * one deployment: rotation state and locks live in Vault, writes made through one replica reach
 * the others' caches through the change feed, and the fetches a rotation waits for are shared
 * through Vault (shared-fetches.ts).
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import type { Logger, LoggerOptions } from "pino";
import { createChangeFeed } from "../../broker/change-feed.js";
import { createSharedFetchLog } from "../../broker/shared-fetches.js";
import { readSecretKeyFile } from "../../bundle/keys.js";
import { vaultSequence } from "../../bundle/vault-sequence.js";
import { parseManifest, readManifestText } from "../../config/manifest.js";
import type { AuditEvent } from "../../lib/audit-log.js";
import { type SyslogAddress, syslogSink } from "../../lib/audit-sinks.js";
import type { CleanupStack } from "../../lib/cleanup-stack.js";
import { configError } from "../../lib/errors.js";
import type { RunningBrokerServer } from "../../server/server.js";
import { createVaultRecordStore } from "../../vault/record-store.js";
import { createVaultClient } from "../../vault/vault-client.js";
import type { StrongroomEnvironment } from "../environment.js";
import { parseListenAddress } from "../listen-address.js";
import { createBrokerCore, startServing } from "./compose-broker.js";
import { checkOperatorToken } from "./operator-token.js";
import type { UpHooks } from "./run-up.js";

/** The change feed's period: a write through one replica is served by all within about this. */
export const DEFAULT_CACHE_POLL_MS = 1_000;
/** Everything cached is dropped this often (writes made straight to Vault). */
const FULL_REFRESH_MS = 5 * 60_000;
/** How often the waits are read, and a waiting rotation reads the fetches other replicas shared. */
const SHARED_FETCH_POLL_MS = 1_000;

export interface ServeOptions {
  manifest: string;
  vaultAddr: string;
  vaultCa?: string;
  kvMount: string;
  listen: string;
  tlsCert: string;
  tlsKey: string;
  clientCa: string;
  operatorTokenFile: string;
  signerKey?: string;
  schedules: boolean;
  overrides?: string;
  /** How long a killed replica's rotation lock blocks the others from resuming its rotation. */
  rotationLockTtlMs: number;
  /** Reads per minute from one client address; 0: unlimited (behind a proxy, all share its address). */
  readLimit?: number;
  /** How often the change feed is read: the bound on serving a write made through another replica. */
  cachePollMs?: number;
  /** Where audit records also go, besides stdout (RFC 5424 over UDP). */
  auditSyslog?: SyslogAddress;
  env: Pick<StrongroomEnvironment, "osloOverrides">;
}

export interface RunningServe {
  server: RunningBrokerServer;
  deployment: string;
  /** The rotation lock owner this process uses (host:pid). */
  replica: string;
}

export async function runServe(
  options: ServeOptions,
  logging: { logger: Logger; options: LoggerOptions },
  cleanups: CleanupStack,
  hooks: UpHooks = {},
): Promise<RunningServe> {
  const log = logging.logger;
  const manifestFile = resolve(options.manifest);
  const manifest = parseManifest(readManifestText(manifestFile), manifestFile);
  const deployment = manifest.deployment.name;
  const listen = parseListenAddress(options.listen);
  const tls = {
    cert: readMounted(options.tlsCert, "--tls-cert"),
    key: readMounted(options.tlsKey, "--tls-key"),
    ca: readMounted(options.clientCa, "--client-ca"),
  };
  const operatorToken = readMounted(options.operatorTokenFile, "--operator-token-file")
    .toString("utf8")
    .trim();
  if (operatorToken === "") throw configError(`${options.operatorTokenFile} is empty`);
  const signer = options.signerKey ? readSecretKeyFile(options.signerKey) : undefined;
  const vaultCa = options.vaultCa ? readMounted(options.vaultCa, "--vault-ca") : undefined;
  const replica = `${hostname()}:${process.pid}`;

  const operator = createVaultClient({
    addr: options.vaultAddr,
    token: operatorToken,
    ca: vaultCa,
  });
  await checkOperatorToken(operator, options.operatorTokenFile);
  const syslog = options.auditSyslog
    ? syslogSink(options.auditSyslog, (err) =>
        log.warn({ err }, "audit sink: a record could not be sent (stdout has it)"),
      )
    : undefined;
  if (syslog) cleanups.push(() => syslog.close());
  const audit = (event: AuditEvent) => {
    const record = { time: new Date().toISOString(), replica, ...event };
    log.info({ audit: record }, "audit");
    syslog?.write(`${JSON.stringify(record)}\n`);
  };
  audit({ event: "broker-start", identity: "serve", deployment, pid: process.pid });

  const records = createVaultRecordStore({
    client: operator,
    mount: options.kvMount,
    deployment,
  });
  const onError = (what: string) => (err: Error) => log.warn({ err }, what);
  const replicaSegment = replica.replace(/[^A-Za-z0-9_.-]/g, "-");
  // Bound late: the feed drops the cache of the broker made below.
  let forget: (names?: readonly string[]) => void = () => {};
  const feed = createChangeFeed({
    records,
    replica: replicaSegment,
    pollMs: options.cachePollMs ?? DEFAULT_CACHE_POLL_MS,
    refreshMs: FULL_REFRESH_MS,
    invalidate: (names) => forget(names),
    onError: onError("change feed: Vault read failed"),
  });
  const fetches = createSharedFetchLog({
    records,
    replica: replicaSegment,
    pollMs: SHARED_FETCH_POLL_MS,
    onError: onError("shared fetch log: Vault read or write failed"),
  });
  const core = await createBrokerCore({
    records,
    onWritten: (names) => {
      feed.publish(names).catch(onError("change feed: publish failed"));
    },
    manifest,
    operator,
    vaultAddr: options.vaultAddr,
    ...(options.vaultCa && { vaultCaFile: resolve(options.vaultCa) }),
    kvMount: options.kvMount,
    overrides: options.overrides,
    env: options.env,
    fetches,
    log,
  });
  forget = (names) => core.broker.forget(names);
  await feed.poll();
  cleanups.push(feed.start());
  await fetches.pollWaits();
  cleanups.push(fetches.start());
  const { server } = await startServing(
    {
      core,
      manifest,
      operator,
      operatorToken,
      kvMount: options.kvMount,
      fetches,
      rotationOwner: replica,
      rotationLockTtlMs: options.rotationLockTtlMs,
      schedules: options.schedules,
      ...(signer && { signer: { keys: signer, nextSequence: vaultSequence(records) } }),
      audit,
      ready: async () =>
        (await operator.health({ standbyok: true }).catch(() => undefined))?.sealed === false,
      listen,
      tls,
      logging,
      ...(hooks.afterRotationStep && { afterRotationStep: hooks.afterRotationStep }),
      schedulesOffReason: { message: "rotation schedules are off (--no-schedules)" },
      ...(options.readLimit !== undefined && {
        rateLimit: { read: { max: options.readLimit || Number.MAX_SAFE_INTEGER } },
      }),
    },
    cleanups,
  );
  log.info({ url: server.address, replica }, "broker listening (HTTPS, mTLS or token)");
  return { server, deployment, replica };
}

function readMounted(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw configError(
      `${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
}

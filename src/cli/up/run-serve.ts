/**
 * `strongroom serve`: one stateless broker replica in front of a Vault `bootstrap` prepared.
 * Everything comes from flags, the environment and files mounted read-only; nothing is written
 * locally (logs and audit records are JSON lines on stdout). Any number of replicas may serve
 * one deployment: rotation state and locks live in Vault, writes made through one replica reach
 * the others' caches through the change feed, and fetches carrying freshly committed versions
 * are shared through Vault for the rotations waiting on them.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import type { Logger, LoggerOptions } from "pino";
import { readSecretKeyFile } from "../../bundle/keys.js";
import { parseManifest, readManifestText } from "../../config/manifest.js";
import type { AuditEvent } from "../../lib/audit-log.js";
import type { CleanupStack } from "../../lib/cleanup-stack.js";
import { configError } from "../../lib/errors.js";
import { createFetchLog } from "../../lib/fetch-log.js";
import type { RunningBrokerServer } from "../../server/server.js";
import { createVaultClient } from "../../vault/vault-client.js";
import type { StrongroomEnvironment } from "../environment.js";
import { parseListenAddress } from "../listen-address.js";
import { createBrokerCore, startServing } from "./compose-broker.js";
import { checkOperatorToken } from "./operator-token.js";
import type { UpHooks } from "./run-up.js";

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
  const audit = (event: AuditEvent) =>
    log.info({ audit: { time: new Date().toISOString(), replica, ...event } }, "audit");
  audit({ event: "broker-start", identity: "serve", deployment, pid: process.pid });

  const fetches = createFetchLog();
  const core = await createBrokerCore({
    manifest,
    operator,
    vaultAddr: options.vaultAddr,
    ...(options.vaultCa && { vaultCaFile: resolve(options.vaultCa) }),
    kvMount: options.kvMount,
    overrides: options.overrides,
    env: options.env,
    fetches,
  });
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
      ...(signer && { signer: { keys: signer, nextSequence: clockSequence() } }),
      audit,
      ready: async () =>
        (await operator.health({ standbyok: true }).catch(() => undefined))?.sealed === false,
      listen,
      tls,
      logging,
      ...(hooks.afterRotationStep && { afterRotationStep: hooks.afterRotationStep }),
      schedulesOffReason: { message: "rotation schedules are off (--no-schedules)" },
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

/**
 * A replica keeps no counter file: the clock (ms) is the bundle sequence floor, as in
 * export-sequence.ts, and increases within the process. Replicas with synchronized clocks
 * produce increasing sequences; two exports in the same millisecond on two replicas could share one.
 */
function clockSequence(now: () => number = Date.now): () => number {
  let last = 0;
  return () => {
    last = Math.max(last + 1, now());
    return last;
  };
}

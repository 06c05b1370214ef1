import { Command } from "@commander-js/extra-typings";
import { usageError } from "../../lib/errors.js";
import type { CliContext } from "../context.js";
import { runInForeground } from "../foreground.js";
import {
  addVaultOptions,
  auditSinkChoice,
  auditSyslogOption,
  envOption,
  fromEnv,
} from "../shared-options.js";

/** Short: a replica killed mid-rotation blocks resuming it elsewhere for at most this long. */
const DEFAULT_LOCK_TTL_SECONDS = 30;

export function serveCommand(context: CliContext) {
  const command = new Command("serve")
    .summary("Run one stateless broker replica in front of a bootstrapped Vault (foreground)")
    .description(
      "Run one broker replica for a deployment `strongroom bootstrap` prepared, in the foreground.\n\n" +
        "Stateless: the manifest, TLS files, operator token and signer key are read from files (mounted\n" +
        "read-only in Kubernetes), every flag may come from STRONGROOM_<FLAG> instead, and nothing is\n" +
        "written locally: logs and audit records are JSON lines on stdout (always; --audit-syslog sends\n" +
        "the audit records to syslog too). Run any number of replicas against one Vault behind a load\n" +
        "balancer: each answers every lookup, writes through one reach the others' caches within about\n" +
        "a second, rotations and their locks live in Vault (resumable on any replica), exported bundles\n" +
        "draw their sequence numbers from one counter in Vault, and a schedule runs once cluster-wide.\n" +
        "GET /healthz: the process is alive; GET /readyz: its Vault is reachable and unsealed.",
    );
  return addVaultOptions(command)
    .addOption(
      envOption("--listen <addr>", "address to serve HTTPS on, HOST:PORT").default("0.0.0.0:8443"),
    )
    .addOption(envOption("--tls-cert <file>", "the server certificate (PEM)").makeOptionMandatory())
    .addOption(
      envOption("--tls-key <file>", "the server certificate's key (PEM)").makeOptionMandatory(),
    )
    .addOption(
      envOption(
        "--client-ca <file>",
        "the CA (PEM) that signed the services' and the operator's mTLS identities",
      ).makeOptionMandatory(),
    )
    .addOption(
      envOption(
        "--operator-token-file <file>",
        "the operator token bootstrap wrote (operator-token)",
      ).makeOptionMandatory(),
    )
    .addOption(
      envOption(
        "--signer-key <file>",
        "the bundle signer key bootstrap wrote (broker-bundle.key); without it, no export",
      ),
    )
    .addOption(
      envOption(
        "--overrides <dir>",
        "INI override files (<dir>/all.conf, <dir>/<service>.conf), oslo.config syntax",
      ),
    )
    .addOption(
      envOption(
        "--rotation-lock-ttl <seconds>",
        "how long a killed replica's rotation lock keeps others from resuming its rotation",
      ).default(String(DEFAULT_LOCK_TTL_SECONDS)),
    )
    .addOption(
      envOption(
        "--read-limit <per-minute>",
        "reads per minute from one client address (default: the broker's 1200); 0: no limit, e.g. behind a load balancer whose address every request carries",
      ),
    )
    .addOption(envOption("--no-schedules", "run no rotation schedule on this replica"))
    .addOption(fromEnv(auditSyslogOption()))
    .addOption(
      envOption("--log-level <level>", "log level")
        .choices(["debug", "info", "warn", "error"] as const)
        .default("info" as const),
    )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  strongroom serve --manifest site.yaml --vault-addr https://vault:8200 --vault-ca vault-ca.pem \\\n" +
        "    --listen 0.0.0.0:8443 --tls-cert out/server.pem --tls-key out/server.key --client-ca out/ca.pem \\\n" +
        "    --operator-token-file out/operator-token --signer-key out/broker-bundle.key\n" +
        "  STRONGROOM_VAULT_ADDR=https://vault:8200 STRONGROOM_MANIFEST=/etc/strongroom/manifest.yaml ... strongroom serve\n",
    )
    .action(async (options) => {
      const lockTtl = Number(options.rotationLockTtl);
      if (!Number.isInteger(lockTtl) || lockTtl < 3) {
        throw usageError("--rotation-lock-ttl is a whole number of seconds, at least 3");
      }
      const { syslog: auditSyslog } = auditSinkChoice(options);
      const readLimit = options.readLimit === undefined ? undefined : Number(options.readLimit);
      if (readLimit !== undefined && (!Number.isInteger(readLimit) || readLimit < 0)) {
        throw usageError("--read-limit is a whole number of reads per minute (0: no limit)");
      }
      const { createCliLogging } = await import("../logger.js");
      const { runServe } = await import("../up/run-serve.js");
      const logging = createCliLogging({ level: options.logLevel, fd: 1 });
      await runInForeground(logging.logger, async (cleanups) => {
        await runServe(
          {
            manifest: options.manifest,
            vaultAddr: options.vaultAddr,
            ...(options.vaultCa !== undefined && { vaultCa: options.vaultCa }),
            kvMount: options.kvMount,
            listen: options.listen,
            tlsCert: options.tlsCert,
            tlsKey: options.tlsKey,
            clientCa: options.clientCa,
            operatorTokenFile: options.operatorTokenFile,
            ...(options.signerKey !== undefined && { signerKey: options.signerKey }),
            ...(options.overrides !== undefined && { overrides: options.overrides }),
            schedules: options.schedules,
            rotationLockTtlMs: lockTtl * 1000,
            ...(readLimit !== undefined && { readLimit }),
            ...(auditSyslog && { auditSyslog }),
            env: context.env,
          },
          logging,
          cleanups,
          context.upHooks,
        );
      });
    });
}

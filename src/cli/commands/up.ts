import { Command, Option } from "@commander-js/extra-typings";
import { resolveStateDirPath } from "../../state/state-dir.js";
import type { CliContext } from "../context.js";
import { runInForeground } from "../foreground.js";
import { DEFAULT_LISTEN } from "../listen-address.js";
import {
  auditSinkChoice,
  auditStdoutOption,
  auditSyslogOption,
  stateDirOption,
} from "../shared-options.js";

export function upCommand(context: CliContext) {
  return new Command("up")
    .summary("Start a temporary Vault and the broker for one deployment (foreground)")
    .description(
      "Start a temporary Vault and the broker for one deployment, in the foreground.\n\n" +
        "First run: starts the Vault (strongroom's embedded one over TLS unless a vault/bao binary is\n" +
        "found or chosen), initializes it, seals the unseal shares to the operator key, creates the\n" +
        "operator token and REVOKES the root token; then one policy and AppRole per service (read on\n" +
        "exactly the secrets its templates use), a CA, the broker's server certificate and one mTLS\n" +
        "identity per service. Later runs on the same state dir unseal and reuse all of it.\n" +
        "Then it seeds (--seed), serves HTTPS with mTLS and prints how to query it. SIGTERM or\n" +
        "Ctrl-C closes the broker, seals and stops the Vault it started.",
    )
    .option(
      "--manifest <file>",
      "the deployment manifest (YAML); default: the one the state dir records (an earlier up, an import)",
    )
    .option(
      "--seed <file>",
      "seed secrets from this file before serving (TripleO passwords, YAML, JSON, INI, env)",
    )
    .addOption(stateDirOption())
    .option(
      "--listen <addr>",
      `broker address, HOST:PORT or :0 for any free port (default: the previous run's, else ${DEFAULT_LISTEN})`,
    )
    .addOption(
      new Option(
        "--vault <kind>",
        "which Vault: embedded, a vault/bao binary, or an external one (VAULT_ADDR, VAULT_TOKEN)",
      )
        .choices(["auto", "embedded", "binary", "external"] as const)
        .default("auto" as const),
    )
    .option("--vault-bin <path>", "the vault or bao binary for --vault binary|auto")
    .option(
      "--overrides <dir>",
      "INI override files (<dir>/all.conf, <dir>/<service>.conf), oslo.config syntax",
    )
    .option(
      "--schedules",
      "run the manifest's rotation schedules (the default, except in a state dir made by import)",
    )
    .option("--no-schedules", "run no rotation schedule (they are still listed by `rotations`)")
    .addOption(auditStdoutOption())
    .addOption(auditSyslogOption())
    .addOption(
      new Option("--log-level <level>", "log level")
        .choices(["debug", "info", "warn", "error"] as const)
        .default("info" as const),
    )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  strongroom up --manifest examples/tripleo/manifest.yaml --seed examples/tripleo/overcloud-passwords.yaml\n" +
        "  strongroom up --manifest site.yaml --state-dir /var/lib/strongroom --listen 0.0.0.0:8443\n" +
        "  VAULT_ADDR=https://vault:8200 VAULT_TOKEN=... strongroom up --manifest site.yaml --vault external\n" +
        "  strongroom up --state-dir /var/lib/strongroom     # after strongroom import\n" +
        "  strongroom up --state-dir /var/lib/strongroom --schedules   # this site rotates now\n",
    )
    .action(async (options) => {
      const auditSinks = auditSinkChoice(options);
      // Loaded here: the other commands start without the broker, Vault and driver code.
      const { createCliLogging } = await import("../logger.js");
      const { queryHints } = await import("../up/query-hints.js");
      const { runUp } = await import("../up/run-up.js");
      const logging = createCliLogging({ level: options.logLevel });
      await runInForeground(logging.logger, async (cleanups) => {
        const running = await runUp(
          {
            manifest: options.manifest,
            seed: options.seed,
            stateDir: resolveStateDirPath(options.stateDir, context.env.stateDir),
            listen: options.listen,
            vault: options.vault,
            vaultBin: options.vaultBin,
            overrides: options.overrides,
            ...(options.schedules !== undefined && { schedules: options.schedules }),
            auditSinks,
            env: context.env,
          },
          logging,
          cleanups,
          context.upHooks,
        );
        process.stdout.write(queryHints(running));
      });
    });
}

import { Command } from "@commander-js/extra-typings";
import type { CliContext } from "../context.js";
import { addVaultOptions, envOption, jsonOption, printJson } from "../shared-options.js";

export function bootstrapCommand(context: CliContext) {
  const command = new Command("bootstrap")
    .summary("Prepare a running Vault for one deployment and write what serve replicas need")
    .description(
      "Prepare an initialized, unsealed Vault (or OpenBao) for one deployment, once, idempotently.\n\n" +
        "With an admin token from VAULT_TOKEN (read, then removed from the environment; only needed\n" +
        "while DIR holds no operator token yet): the KV v2 mount, AppRole, the deployment's operator\n" +
        "policy and token, one least-privilege policy and AppRole per service, the stored manifest and\n" +
        "the rendered records castellan reads. Into DIR (0700, files 0600), unless present: ca.pem,\n" +
        "ca.key, server.pem, server.key, operator-token, broker-bundle.key/.pub (the bundle signer)\n" +
        "and identities/ (one mTLS identity per service). Running it again changes nothing that exists.",
    );
  return addVaultOptions(command)
    .addOption(envOption("--out <dir>", "the directory to write into").makeOptionMandatory())
    .addOption(
      envOption(
        "--server-name <names...>",
        "DNS names or addresses clients reach the replicas by (server certificate; loopback always)",
      ),
    )
    .addOption(
      envOption(
        "--k8s-secret <name>",
        "also keep DIR's files (not identities/) in this Kubernetes Secret, one key per file; in-cluster service account or KUBECONFIG",
      ),
    )
    .addOption(jsonOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  VAULT_TOKEN=... strongroom bootstrap --manifest site.yaml --vault-addr https://vault:8200 \\\n" +
        "    --vault-ca vault-ca.pem --out /run/strongroom --server-name strongroom.example.net\n" +
        "  strongroom bootstrap --manifest site.yaml --vault-addr https://vault:8200 --out /run/strongroom --json\n",
    )
    .action(async (options) => {
      const { createCliLogging } = await import("../logger.js");
      const { runBootstrap } = await import("../up/run-bootstrap.js");
      const { logger } = createCliLogging({ level: options.json ? "warn" : "info" });
      const result = await runBootstrap({
        manifest: options.manifest,
        vaultAddr: options.vaultAddr,
        ...(options.vaultCa !== undefined && { vaultCa: options.vaultCa }),
        kvMount: options.kvMount,
        out: options.out,
        serverNames: options.serverName ?? [],
        env: context.env,
        log: logger,
        ...(options.k8sSecret !== undefined && { k8sSecret: options.k8sSecret }),
      });
      if (options.json) printJson(result);
      else
        process.stdout.write(
          `deployment ${result.deployment} bootstrapped on ${result.vault} (${result.services} services)\n` +
            `serve replicas need: ${result.files.serverCert} ${result.files.serverKey} ${result.files.caCert} ` +
            `${result.files.operatorToken} ${result.files.signerKey}\n`,
        );
    });
}

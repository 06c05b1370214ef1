import { Command, Option } from "@commander-js/extra-typings";
import { resolveStateDirPath } from "../../state/state-dir.js";
import type { CliContext } from "../context.js";
import { jsonOption, printJson, stateDirOption } from "../shared-options.js";

export function importCommand(context: CliContext) {
  return new Command("import")
    .summary("Import a bundle into a fresh temporary Vault and state dir")
    .description(
      "Import a bundle into a fresh temporary Vault and a new state dir, from which `strongroom up`\n" +
        "serves. The signature is checked against --trust and every chunk of the bundle is decrypted\n" +
        "and authenticated with --key before anything is written; a bad bundle leaves the state dir\n" +
        "exactly as it was. Secrets keep their versions; policies and AppRoles are recreated from the\n" +
        "bundle's manifest. A state dir that is not empty is refused unless --replace.\n\n" +
        "A bundle older than the last one imported from the same signer, or that same bundle again,\n" +
        "is refused (STRONGROOM_ERR_BUNDLE_NOT_NEWER) unless --allow-older: bundles carry a signed\n" +
        "sequence number, and this node remembers the last imported per signer in a trust state\n" +
        "file that lives with its key, not in the state dir (which each import replaces): by\n" +
        "default NAME.imports.json beside --key NAME.key, or --trust-state FILE. It is updated as an\n" +
        "import completes; keep it (0600) as long as the key.",
    )
    .argument("<file>", "the bundle")
    .requiredOption("--key <file>", "this site's secret key (.key, from strongroom keygen)")
    .requiredOption("--trust <file>", "the exporting broker's public key (its broker-bundle.pub)")
    .option(
      "--trust-state <file>",
      "where this node remembers the last bundle imported per signer (default: beside --key, NAME.imports.json)",
    )
    .option(
      "--allow-older",
      "import a bundle older than (or the same as) the last one imported from its signer",
    )
    .addOption(stateDirOption())
    .option("--replace", "replace a state dir that is not empty (only once the import succeeded)")
    .addOption(
      new Option("--vault <kind>", "which Vault: embedded, a vault/bao binary, or an external one")
        .choices(["embedded", "binary", "external"] as const)
        .default("embedded" as const),
    )
    .option("--vault-bin <path>", "the vault or bao binary for --vault binary")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  strongroom import overcloud.bundle --key node-a.key --trust undercloud-broker.pub --state-dir /var/lib/strongroom\n" +
        "  strongroom up --state-dir /var/lib/strongroom\n",
    )
    .action(async (file, options) => {
      // Loaded here: the other commands start without the bundle and Vault code.
      const { runImport } = await import("../import/run-import.js");
      const report = await runImport({
        file,
        keyFile: options.key,
        trustFile: options.trust,
        ...(options.trustState && { trustStateFile: options.trustState }),
        allowOlder: options.allowOlder === true,
        stateDir: resolveStateDirPath(options.stateDir, context.env.stateDir),
        replace: options.replace === true,
        vault: options.vault,
        ...(options.vaultBin && { vaultBin: options.vaultBin }),
        env: context.env,
      });
      if (options.json) {
        printJson(report);
        return;
      }
      process.stdout.write(
        `imported deployment ${report.deployment} (${report.secrets} secrets, ${report.versions} versions, ` +
          `${report.services} services; signed by ${report.signer}` +
          `${report.sequence === null ? "" : `, sequence ${report.sequence}`}) into ${report.stateDir}\n` +
          `serve it with: strongroom up --state-dir ${report.stateDir}\n`,
      );
    });
}

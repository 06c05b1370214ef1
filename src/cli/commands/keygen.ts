import { Command } from "@commander-js/extra-typings";
import { usageError } from "../../lib/errors.js";
import { jsonOption, printJson } from "../shared-options.js";

export function keygenCommand() {
  return new Command("keygen")
    .summary("Make a bundle key pair (X25519 + Ed25519)")
    .description(
      "Make a bundle key pair: NAME.key (secret, mode 0600) and NAME.pub (public).\n" +
        "X25519 opens the bundles sealed to it; Ed25519 signs the bundles it exports.\n" +
        "Hand out NAME.pub for export --recipient and import --trust, and compare the\n" +
        "printed fingerprint with its owner out of band.",
    )
    .option("--out <name>", "path without extension: writes NAME.key and NAME.pub")
    .option("--force", "replace an existing NAME.key / NAME.pub")
    .option("--fingerprint <file>", "print the fingerprint of an existing public key file instead")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  strongroom keygen --out keys/controller-0          # keys/controller-0.key + .pub\n" +
        "  strongroom keygen --out edge-site-1 --json         # {publicFile, secretFile, fingerprint}\n" +
        "  strongroom keygen --fingerprint edge-site-1.pub    # check a key someone sent you\n",
    )
    .action(async (options) => {
      // Loaded here: libsodium is only for this command, not every command's start-up.
      const { fingerprint, generateBundleKeyPair, readPublicKeyFile, writeKeyFiles } = await import(
        "../../bundle/keys.js"
      );
      if (options.fingerprint !== undefined) {
        if (options.out !== undefined)
          throw usageError("keygen: --out and --fingerprint exclude each other");
        const key = readPublicKeyFile(options.fingerprint);
        const id = fingerprint(key);
        if (options.json) printJson({ publicFile: options.fingerprint, fingerprint: id });
        else process.stdout.write(`${id}\n`);
        return;
      }
      if (options.out === undefined) throw usageError("keygen: --out NAME is required");
      const pair = await generateBundleKeyPair();
      const files = await writeKeyFiles(withoutKeyExtension(options.out), pair, {
        force: options.force === true,
      });
      const id = fingerprint(pair);
      if (options.json) printJson({ ...files, fingerprint: id });
      else {
        process.stdout.write(
          `wrote ${files.secretFile} (secret, mode 0600) and ${files.publicFile}\n` +
            `fingerprint ${id}\n`,
        );
      }
    });
}

/** `--out site.pub` and `--out site.key` both mean the pair named `site`. */
const withoutKeyExtension = (name: string) => name.replace(/\.(pub|key)$/, "");

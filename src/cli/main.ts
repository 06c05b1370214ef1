import { Command, CommanderError } from "@commander-js/extra-typings";
import { StrongroomError } from "../lib/errors.js";
import { vaultServerCommand } from "./commands/vault-server.js";

const program = new Command()
  .name("strongroom")
  .description(
    "Secrets broker for OpenStack-style deployments: a temporary Vault, oslo.config lookups,\n" +
      "password rotation that never locks anyone out, and sealed export bundles.",
  )
  .version("0.1.0")
  .option("--debug", "print stack traces on errors")
  .showSuggestionAfterError()
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

program.addCommand(vaultServerCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error, program.opts().debug === true);
}

function exitCodeFor(error: unknown, debug: boolean): number {
  if (error instanceof CommanderError) {
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
    if (error.code === "commander.help") return 0;
    return 2;
  }
  if (error instanceof StrongroomError) {
    process.stderr.write(`strongroom: ${error.message}\n`);
    if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`strongroom: ${message}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return 1;
}

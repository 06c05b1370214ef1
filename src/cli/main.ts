import { Command, CommanderError } from "@commander-js/extra-typings";
import { StrongroomError } from "../lib/errors.js";
import { exportCommand } from "./commands/export.js";
import { getCommand } from "./commands/get.js";
import { importCommand } from "./commands/import.js";
import { keygenCommand } from "./commands/keygen.js";
import { renderCommand } from "./commands/render.js";
import { rotateCommand } from "./commands/rotate.js";
import { rotationsCommand } from "./commands/rotations.js";
import { seedCommand } from "./commands/seed.js";
import { serviceKitCommand } from "./commands/service-kit.js";
import { statusCommand } from "./commands/status.js";
import { upCommand } from "./commands/up.js";
import { vaultServerCommand } from "./commands/vault-server.js";

// `strongroom render nova | head` closes stdout early: that is not an error worth a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

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

program.addCommand(upCommand());
program.addCommand(seedCommand());
program.addCommand(getCommand());
program.addCommand(renderCommand());
program.addCommand(serviceKitCommand());
program.addCommand(rotateCommand());
program.addCommand(rotationsCommand());
program.addCommand(statusCommand());
program.addCommand(keygenCommand());
program.addCommand(exportCommand());
program.addCommand(importCommand());
program.addCommand(vaultServerCommand());
// addCommand(), unlike command(), does not pass exitOverride and the output settings down.
for (const command of program.commands) command.copyInheritedSettings(program);
// Descriptions are written as lines in the source; commander wraps them to the terminal.
for (const command of [program, ...program.commands]) {
  command.description(asParagraphs(command.description()));
}

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

/** Single line breaks become spaces; a blank line still separates paragraphs. */
function asParagraphs(text: string): string {
  return text.replace(/([^\n])\n(?!\n)/g, "$1 ");
}

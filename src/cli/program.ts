/**
 * The CLI's composition: the commands, built with the checked environment, and the one place
 * that turns a failure into its output and exit code. `code: message` on stderr (one line; the
 * stack with --debug), or `{"error":{"code","message"}}` when the command was given --json.
 */
import { Command, CommanderError } from "@commander-js/extra-typings";
import { internalError, isStrongroomError, usageError } from "../lib/errors.js";
import { auditCommand } from "./commands/audit.js";
import { bootstrapCommand } from "./commands/bootstrap.js";
import { exportCommand } from "./commands/export.js";
import { filesCommand } from "./commands/files.js";
import { getCommand } from "./commands/get.js";
import { importCommand } from "./commands/import.js";
import { keygenCommand } from "./commands/keygen.js";
import { kitsCommand } from "./commands/kits.js";
import { passwordsCommand } from "./commands/passwords.js";
import { renderCommand } from "./commands/render.js";
import { rotateCommand } from "./commands/rotate.js";
import { rotationsCommand } from "./commands/rotations.js";
import { secretsCommand } from "./commands/secrets.js";
import { seedCommand } from "./commands/seed.js";
import { serveCommand } from "./commands/serve.js";
import { serviceKitCommand } from "./commands/service-kit.js";
import { statusCommand } from "./commands/status.js";
import { upCommand } from "./commands/up.js";
import { vaultServerCommand } from "./commands/vault-server.js";
import type { CliContext } from "./context.js";
import { forgetSecretVariables, readEnvironment } from "./environment.js";
import type { UpHooks } from "./up/run-up.js";

export const VERSION = "0.1.0";

export function createProgram(context: CliContext): Command {
  const program = new Command()
    .name("strongroom")
    .description(
      "Secrets broker for OpenStack-style deployments: a temporary Vault, oslo.config lookups,\n" +
        "password rotation that never locks anyone out, and sealed export bundles.",
    )
    .version(VERSION)
    .option("--debug", "print stack traces on errors")
    .showSuggestionAfterError()
    .exitOverride()
    // Commander's own error text is printed by `reportError`, in the same shape as the others.
    .configureOutput({ outputError: () => {} });

  program.addCommand(upCommand(context));
  program.addCommand(seedCommand(context));
  program.addCommand(getCommand(context));
  program.addCommand(renderCommand(context));
  program.addCommand(serviceKitCommand(context));
  program.addCommand(kitsCommand(context));
  program.addCommand(filesCommand(context));
  program.addCommand(secretsCommand(context));
  program.addCommand(rotateCommand(context));
  program.addCommand(rotationsCommand(context));
  program.addCommand(statusCommand(context));
  program.addCommand(auditCommand(context));
  program.addCommand(keygenCommand());
  program.addCommand(exportCommand(context));
  program.addCommand(passwordsCommand(context));
  program.addCommand(importCommand(context));
  program.addCommand(vaultServerCommand(context));
  program.addCommand(bootstrapCommand(context));
  program.addCommand(serveCommand(context));
  // addCommand(), unlike command(), does not pass exitOverride and the output settings down.
  for (const command of program.commands) command.copyInheritedSettings(program);
  // Descriptions are written as lines in the source; commander wraps them to the terminal.
  for (const command of [program, ...program.commands]) {
    command.description(asParagraphs(command.description()));
  }
  return program;
}

/** Runs the CLI on `argv` (process.argv's shape); resolves to the exit code. */
export async function runCli(
  argv: readonly string[],
  processEnv: NodeJS.ProcessEnv,
  upHooks?: UpHooks,
): Promise<number> {
  const args = argv.slice(2);
  const output = { json: args.includes("--json"), debug: args.includes("--debug") };
  try {
    const env = readEnvironment(processEnv);
    forgetSecretVariables(processEnv);
    await createProgram({ env, ...(upHooks && { upHooks }) }).parseAsync([...argv]);
    // A command that finished but reports a failed outcome (a down broker in `status`, a
    // stopped rollout in `rotate`) sets the exit code itself.
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    return reportError(error, output);
  }
}

const COMMANDER_DONE = new Set(["commander.helpDisplayed", "commander.version", "commander.help"]);

function reportError(error: unknown, output: { json: boolean; debug: boolean }): number {
  if (error instanceof CommanderError && COMMANDER_DONE.has(error.code)) return 0;
  const failure =
    error instanceof CommanderError
      ? usageError(error.message.replace(/^error: /, ""))
      : isStrongroomError(error)
        ? error
        : internalError(error instanceof Error ? error.message : String(error), error);
  const { code } = failure;
  // One line whatever the source: commander appends its "(Did you mean …?)" on a line of its own.
  const message = failure.message.replace(/\s*\n\s*/g, " ");
  process.stderr.write(
    output.json ? `${JSON.stringify({ error: { code, message } })}\n` : `${code}: ${message}\n`,
  );
  const stack = error instanceof Error ? error.stack : undefined;
  if (output.debug && stack && !(error instanceof CommanderError)) {
    process.stderr.write(`${stack}\n`);
  }
  return failure.exitCode;
}

/** Single line breaks become spaces; a blank line still separates paragraphs. */
function asParagraphs(text: string): string {
  return text.replace(/([^\n])\n(?!\n)/g, "$1 ");
}

/**
 * What every strongroom command promises on the command line (README "CLI", DESIGN "CLI
 * contract"), as assertions on a finished child process: an error is exactly one line on stderr,
 * `CODE: message`, or `{"error":{"code","message"}}` with --json, nothing on stdout.
 */
import { expect } from "vitest";
import { readEnvironment } from "../../../src/cli/environment.js";
import { createProgram } from "../../../src/cli/program.js";
import { COMMANDS, type CommandName } from "../../helpers/cli-commands.js";
import type { CliResult } from "../../helpers/strongroom-up.js";

export { COMMANDS, type CommandName };

/** The commands as the CLI composes them: the source of truth for their options and arguments. */
const program = createProgram({ env: readEnvironment({}) });

export function commandOf(name: CommandName) {
  const command = program.commands.find((c) => c.name() === name);
  if (!command) throw new Error(`strongroom has no command ${name}`);
  return command;
}

export interface DocumentedOption {
  flags: string;
  long: string;
  description: string;
  /** A required option (commander reports it missing before any unknown option). */
  mandatory: boolean;
}

/** The options `--help` must show (hidden ones excepted). */
export function visibleOptions(name: CommandName): DocumentedOption[] {
  return commandOf(name)
    .options.filter((option) => !option.hidden)
    .map((option) => ({
      flags: option.flags,
      long: option.long ?? option.flags,
      description: option.description,
      mandatory: option.mandatory,
    }));
}

export function argumentsOf(name: CommandName): Array<{ name: string; description: string }> {
  return commandOf(name).registeredArguments.map((argument) => ({
    name: argument.name(),
    description: argument.description,
  }));
}

export const hasJsonOption = (name: CommandName) =>
  visibleOptions(name).some((option) => option.long === "--json");

/** Whitespace-insensitive: commander wraps help text to the terminal. */
export const flat = (text: string) => text.replace(/\s+/g, " ").trim();

/** The single line on stderr; fails unless there is exactly one, newline-terminated. */
export function onlyStderrLine(result: CliResult): string {
  expect(result.stderr.endsWith("\n"), `stderr: ${JSON.stringify(result.stderr)}`).toBe(true);
  const lines = result.stderr.slice(0, -1).split("\n");
  expect(lines, `stderr: ${result.stderr}`).toHaveLength(1);
  return lines[0]!;
}

/**
 * A failure as the CLI reports it: the exit code, nothing on stdout, and one stderr line naming
 * `code`. Answers the message.
 */
export function expectFailure(
  result: CliResult,
  expected: { code: string; exit: number; json: boolean },
): string {
  expect(result.code, `stderr: ${result.stderr}`).toBe(expected.exit);
  expect(result.stdout).toBe("");
  const line = onlyStderrLine(result);
  if (expected.json) {
    const parsed = JSON.parse(line) as unknown;
    expect(parsed).toEqual({ error: { code: expected.code, message: expect.any(String) } });
    const { message } = (parsed as { error: { message: string } }).error;
    expect(message.length).toBeGreaterThan(0);
    return message;
  }
  expect(line.startsWith(`${expected.code}: `), line).toBe(true);
  const message = line.slice(expected.code.length + 2);
  expect(message.trim().length).toBeGreaterThan(0);
  return message;
}

export const usageFailure = (result: CliResult, json: boolean) =>
  expectFailure(result, { code: "STRONGROOM_ERR_USAGE", exit: 2, json });

/**
 * What the built-in restarters share: reading their manifest stanza (the manifest schema
 * checks it too, but a driver can be used without a manifest), `{service}` substitution, and
 * running a restart command with one-line errors.
 */
import { configError, ERRORS, StrongroomError } from "../../src/lib/errors.js";
import {
  briefArgv,
  describeExit,
  type RunArgvResult,
  runArgv,
  showArgv,
} from "../../src/lib/run-argv.js";

export type Stanza = Readonly<Record<string, unknown>>;

export const restartError = (message: string, cause?: unknown) =>
  ERRORS.STRONGROOM_ERR_RESTART(message, { cause });

export const SERVICE_PLACEHOLDER = "{service}";

export const withService = (template: string, service: string): string =>
  template.replaceAll(SERVICE_PLACEHOLDER, service);

/** A stanza mistake (STRONGROOM_ERR_CONFIG); `validate` returns its message, `create` throws it
 * with the service named. */
export class StanzaProblem extends StrongroomError {
  constructor(reason: string) {
    super(ERRORS.STRONGROOM_ERR_CONFIG.code, reason);
  }
}

/** Parses a stanza with `parse`: undefined when it is fine, else the problem. */
export function stanzaProblem(parse: () => unknown): string | undefined {
  try {
    parse();
    return undefined;
  } catch (error) {
    if (error instanceof StanzaProblem) return error.message;
    throw error;
  }
}

/** Parses a stanza with `parse`, a STRONGROOM_ERR_CONFIG naming the service on a problem. */
export function parseStanza<T>(service: string, driver: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof StanzaProblem)) throw error;
    throw configError(`service "${service}": ${driver} restarter: ${error.message}`, error);
  }
}

export function rejectUnknownKeys(stanza: Stanza, allowed: readonly string[]): void {
  const extra = Object.keys(stanza).find((key) => key !== "kind" && !allowed.includes(key));
  if (extra !== undefined) throw new StanzaProblem(`unknown parameter "${extra}"`);
}

/** A positive number of seconds under `key`, or `fallback` when absent. */
export function secondsParameter(stanza: Stanza, key: string, fallback: number): number {
  const value = stanza[key] ?? fallback;
  if (typeof value === "number" && Number.isFinite(value) && value > 0) return value;
  throw new StanzaProblem(`"${key}" must be a positive number of seconds`);
}

/** A non-empty string under `key`, or `fallback` when absent. */
export function stringParameter(stanza: Stanza, key: string, fallback?: string): string {
  const value = stanza[key] ?? fallback;
  if (typeof value === "string" && value !== "") return value;
  throw new StanzaProblem(`"${key}" must be a non-empty string`);
}

/**
 * Runs one command of a restart; resolves with its result whatever its exit code, throws a
 * STRONGROOM_ERR_RESTART when it cannot start, times out or is aborted.
 */
export async function runRestartStep(
  argv: readonly string[],
  what: string,
  options: { timeoutMs: number; signal: AbortSignal },
): Promise<RunArgvResult> {
  const shown = `\`${showArgv(argv)}\``;
  let result: RunArgvResult;
  try {
    result = await runArgv(argv, options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "spawn error";
    throw restartError(`${what}: cannot run ${shown} (${code})`, error);
  }
  if (result.stopped === "timeout") {
    throw restartError(`${what}: ${shown} did not finish within ${options.timeoutMs / 1000} s`);
  }
  if (result.stopped === "aborted") throw restartError(`${what}: ${shown} was stopped (aborted)`);
  return result;
}

/** Like `runRestartStep`, and a non-zero exit throws too (the code and the last stderr line). */
export async function runRestartCommand(
  argv: readonly string[],
  what: string,
  options: { timeoutMs: number; signal: AbortSignal },
): Promise<void> {
  const result = await runRestartStep(argv, what, options);
  if (result.code !== 0) {
    throw restartError(`${what}: \`${briefArgv(argv)}\` ${describeExit(result)}`);
  }
}

/**
 * How the targets run their commands (rabbitmqctl, operator hooks): src/lib/run-argv.ts with
 * the secret on stdin, answered in the shape the targets read.
 */
import { runArgv } from "../../src/lib/run-argv.js";

export { lastLine } from "../../src/lib/run-argv.js";

export interface RunWithInputOptions {
  /** Written to stdin, which is then closed (closed at once when absent). */
  input?: string;
  timeoutMs: number;
  /** Variables of strongroom's environment the command needs beyond run-argv's allow-list. */
  inherit?: RegExp;
}

export interface RunWithInputResult {
  /** The exit code; null when the process died of a signal (or was stopped at the deadline). */
  code: number | null;
  timedOut: boolean;
  /** Up to the first MiB: enough for the JSON listings rabbitmqctl prints. */
  stdout: string;
  /** The last 4 KiB: enough to explain a failure. */
  stderr: string;
}

/** Rejects only when the command cannot be started (ENOENT, EACCES). */
export async function runWithInput(
  argv: readonly string[],
  options: RunWithInputOptions,
): Promise<RunWithInputResult> {
  const result = await runArgv(argv, {
    timeoutMs: options.timeoutMs,
    input: options.input ?? "",
    ...(options.inherit && { inherit: options.inherit }),
  });
  return {
    code: result.code,
    timedOut: result.stopped === "timeout",
    stdout: result.stdout,
    stderr: result.stderr,
  };
}

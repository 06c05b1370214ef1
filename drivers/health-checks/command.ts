/** `command` health check: healthy when the argv (no shell) exits 0 within the attempt's time. */
import type { HealthCheck } from "../../src/config/manifest-types.js";
import { describeExit, type RunArgvResult, runArgv, showArgv } from "../../src/lib/run-argv.js";
import { errorCode, healthError, type ProbeResult } from "./probe.js";

export async function probeCommand(check: HealthCheck, signal: AbortSignal): Promise<ProbeResult> {
  const argv = check.command;
  if (argv === undefined || argv.length === 0) {
    throw healthError("a command health check needs a command");
  }
  const shown = `\`${showArgv(argv)}\``;
  let result: RunArgvResult;
  try {
    // The attempt's signal carries the timeout; this deadline only backs it up.
    result = await runArgv(argv, { timeoutMs: check.timeoutSeconds * 1000, signal });
  } catch (error) {
    throw healthError(`cannot run the health check ${shown} (${errorCode(error)})`, error);
  }
  if (result.code === 0) return { ok: true, detail: `${shown} exited with code 0` };
  if (result.stopped) return { ok: false, detail: `${shown} did not finish` };
  return { ok: false, detail: `${shown} ${describeExit(result)}` };
}

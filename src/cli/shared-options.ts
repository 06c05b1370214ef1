import { Option } from "@commander-js/extra-typings";
import { STATE_DIR_ENV } from "../state/state-dir.js";

/** `--state-dir`: no commander default, so STRONGROOM_STATE_DIR can apply (resolveStateDirPath). */
export const stateDirOption = () =>
  new Option(
    "--state-dir <dir>",
    `strongroom's state directory (default: $${STATE_DIR_ENV} or ./.strongroom)`,
  );

export const jsonOption = () => new Option("--json", "machine-readable JSON on stdout");

/** Progress lines go to stderr, and only on a terminal: pipes and logs stay quiet. */
export function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

import type { StrongroomEnvironment } from "./environment.js";
import type { UpHooks } from "./up/run-up.js";

/** What every command is built with: the checked environment, and seams for a test composition. */
export interface CliContext {
  readonly env: StrongroomEnvironment;
  readonly upHooks?: UpHooks;
}

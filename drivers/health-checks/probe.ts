import type { HealthCheck } from "../../src/config/manifest-types.js";
import { StrongroomError } from "../../src/lib/errors.js";

/** One attempt's outcome; `detail` names what was checked and what happened, never a value. */
export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** One attempt; honours `signal` (the attempt's timeout) and never throws for an unhealthy
 * service, only for a check that cannot be run at all. */
export type Probe = (check: HealthCheck, signal: AbortSignal) => Promise<ProbeResult>;

export const healthError = (message: string, cause?: unknown) =>
  new StrongroomError("STRONGROOM_ERR_HEALTH", message, { cause });

export const errorCode = (error: unknown): string =>
  (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.name : "error");

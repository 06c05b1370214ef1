import { ERRORS } from "../../src/lib/errors.js";

export type { ProbeResult } from "../types.js";

export const healthError = (message: string, cause?: unknown) =>
  ERRORS.STRONGROOM_ERR_HEALTH(message, { cause });

export const errorCode = (error: unknown): string =>
  (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.name : "error");

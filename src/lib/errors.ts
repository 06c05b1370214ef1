/**
 * strongroom's typed errors. Every error a user can meet carries a stable STRONGROOM_ERR_* code
 * (documented in the README), an HTTP status for the broker, and a message that never
 * contains a secret value.
 */
export class StrongroomError extends Error {
  readonly code: string;
  readonly statusCode: number;
  /** CLI exit code: 1 for failures, 2 for usage errors. */
  readonly exitCode: number;

  constructor(
    code: string,
    message: string,
    options: { statusCode?: number; exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "StrongroomError";
    this.code = code;
    this.statusCode = options.statusCode ?? 500;
    this.exitCode = options.exitCode ?? 1;
  }
}

export const usageError = (message: string) =>
  new StrongroomError("STRONGROOM_ERR_USAGE", message, { statusCode: 400, exitCode: 2 });

export const configError = (message: string, cause?: unknown) =>
  new StrongroomError("STRONGROOM_ERR_CONFIG", message, { statusCode: 400, cause });

export const internalError = (message: string, cause?: unknown) =>
  new StrongroomError("STRONGROOM_ERR_INTERNAL", message, { statusCode: 500, cause });

export const isStrongroomError = (error: unknown): error is StrongroomError =>
  error instanceof StrongroomError;

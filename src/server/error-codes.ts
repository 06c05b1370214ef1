import {
  ERROR_CATALOGUE,
  ERRORS,
  type ErrorSpec,
  isErrorCode,
  StrongroomError,
} from "../lib/errors.js";

/**
 * The HTTP layer's own errors, with their fixed messages; codes, statuses and which 5xx may show
 * their message come from the catalogue (src/lib/errors.ts). Classes, as fastify plugins
 * (under-pressure's `customError`) make them with `new`.
 */
export class UnauthenticatedError extends StrongroomError {
  constructor() {
    super(
      ERRORS.STRONGROOM_ERR_UNAUTHENTICATED.code,
      "authentication required: a client certificate issued by the broker's CA, or a token",
    );
  }
}

export class ForbiddenError extends StrongroomError {
  constructor() {
    super(ERRORS.STRONGROOM_ERR_FORBIDDEN.code, "this identity may not access this resource");
  }
}

export class NotFoundError extends StrongroomError {
  constructor(what: string) {
    super(ERRORS.STRONGROOM_ERR_NOT_FOUND.code, `${what} not found`);
  }
}

export class RateLimitedError extends StrongroomError {
  constructor(after: string) {
    super(ERRORS.STRONGROOM_ERR_RATE_LIMITED.code, `rate limit exceeded, retry in ${after}`);
  }
}

export class NotReadyError extends StrongroomError {
  constructor() {
    super(ERRORS.STRONGROOM_ERR_NOT_READY.code, "the broker is not ready yet");
  }
}

export class UnavailableError extends StrongroomError {
  constructor() {
    super(ERRORS.STRONGROOM_ERR_UNAVAILABLE.code, "the broker is overloaded, retry later");
  }
}

/** Whether a 5xx with this code may show its message; any other answers "internal error". */
export const isPublic5xx = (code: string): boolean =>
  isErrorCode(code) && (ERROR_CATALOGUE[code] as ErrorSpec).public5xx === true;

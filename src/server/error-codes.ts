import createError from "@fastify/error";

/**
 * Every code the broker's HTTP API answers with, `{error:{code, message}}`. They are a public
 * contract (docs/http-api.md lists them); other STRONGROOM_ERR_* codes raised by the broker
 * itself (StrongroomError) pass through with their own status.
 */
export const HTTP_ERROR_CODES = {
  STRONGROOM_ERR_VALIDATION: 400,
  STRONGROOM_ERR_BAD_REQUEST: 400,
  STRONGROOM_ERR_UNAUTHENTICATED: 401,
  STRONGROOM_ERR_FORBIDDEN: 403,
  STRONGROOM_ERR_NOT_FOUND: 404,
  STRONGROOM_ERR_BODY_TOO_LARGE: 413,
  STRONGROOM_ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  STRONGROOM_ERR_RATE_LIMITED: 429,
  STRONGROOM_ERR_INTERNAL: 500,
  STRONGROOM_ERR_NOT_IMPLEMENTED: 501,
  STRONGROOM_ERR_NOT_READY: 503,
  STRONGROOM_ERR_UNAVAILABLE: 503,
} as const;

export type HttpErrorCode = keyof typeof HTTP_ERROR_CODES;

export const UnauthenticatedError = createError<"STRONGROOM_ERR_UNAUTHENTICATED", 401, []>(
  "STRONGROOM_ERR_UNAUTHENTICATED",
  "authentication required: a client certificate issued by the broker's CA, or a token",
  401,
);

export const ForbiddenError = createError<"STRONGROOM_ERR_FORBIDDEN", 403, []>(
  "STRONGROOM_ERR_FORBIDDEN",
  "this identity may not access this resource",
  403,
);

export const NotFoundError = createError<"STRONGROOM_ERR_NOT_FOUND", 404, [what: string]>(
  "STRONGROOM_ERR_NOT_FOUND",
  "%s not found",
  404,
);

export const RateLimitedError = createError<"STRONGROOM_ERR_RATE_LIMITED", 429, [after: string]>(
  "STRONGROOM_ERR_RATE_LIMITED",
  "rate limit exceeded, retry in %s",
  429,
);

export const NotImplementedError = createError<
  "STRONGROOM_ERR_NOT_IMPLEMENTED",
  501,
  [what: string]
>("STRONGROOM_ERR_NOT_IMPLEMENTED", "%s is not implemented yet", 501);

export const NotReadyError = createError<"STRONGROOM_ERR_NOT_READY", 503, []>(
  "STRONGROOM_ERR_NOT_READY",
  "the broker is not ready yet",
  503,
);

export const UnavailableError = createError<"STRONGROOM_ERR_UNAVAILABLE", 503, []>(
  "STRONGROOM_ERR_UNAVAILABLE",
  "the broker is overloaded, retry later",
  503,
);

/** 5xx codes whose fixed message is safe to show; any other 5xx answers "internal error". */
export const PUBLIC_5XX_CODES: ReadonlySet<string> = new Set([
  "STRONGROOM_ERR_NOT_IMPLEMENTED",
  "STRONGROOM_ERR_NOT_READY",
  "STRONGROOM_ERR_UNAVAILABLE",
]);

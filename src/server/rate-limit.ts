import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { RateLimitedError } from "./error-codes.js";

export interface RateLimitPreset {
  /** Requests per window and client address. */
  max: number;
  /** Window length in milliseconds. */
  timeWindow: number;
}

export interface RateLimitSettings {
  /** false: no limits at all (e.g. a front proxy already enforces them). */
  enabled?: boolean;
  /**
   * Every route not listed below (listings, whole-service documents, docs, unknown routes).
   * Single-option lookups are exempt: they are cached, and on a busy broker the limiter would
   * cost more than the lookup. Their failed authentications count against `authFailure`.
   */
  read?: Partial<RateLimitPreset>;
  /** PUT /v1/secrets/{name}. */
  write?: Partial<RateLimitPreset>;
  /** POST /v1/seed: the most expensive request there is. */
  seed?: Partial<RateLimitPreset>;
  /** Refused credentials (401 and 403) on any /v1 route: guessing tokens stays slow. */
  authFailure?: Partial<RateLimitPreset>;
}

export interface RateLimits {
  enabled: boolean;
  read: RateLimitPreset;
  write: RateLimitPreset;
  seed: RateLimitPreset;
  authFailure: RateLimitPreset;
}

const MINUTE = 60_000;

/**
 * Keyed by client address and counted before authentication, so failed attempts count too.
 * Reads are generous: on a TripleO node every container of the host shares one address and
 * each loads its whole configuration when it starts.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  enabled: true,
  read: { max: 1200, timeWindow: MINUTE },
  write: { max: 60, timeWindow: MINUTE },
  seed: { max: 10, timeWindow: MINUTE },
  authFailure: { max: 30, timeWindow: MINUTE },
};

export function resolveRateLimits(settings: RateLimitSettings = {}): RateLimits {
  return {
    enabled: settings.enabled ?? DEFAULT_RATE_LIMITS.enabled,
    read: { ...DEFAULT_RATE_LIMITS.read, ...settings.read },
    write: { ...DEFAULT_RATE_LIMITS.write, ...settings.write },
    seed: { ...DEFAULT_RATE_LIMITS.seed, ...settings.seed },
    authFailure: { ...DEFAULT_RATE_LIMITS.authFailure, ...settings.authFailure },
  };
}

/** The global (read) limit on every route; routes opt into `write`/`seed` via `config.rateLimit`. */
export const rateLimitPlugin = fp(
  async (app: FastifyInstance, limits: RateLimits) => {
    if (!limits.enabled) return;
    await app.register(rateLimit, {
      global: true,
      ...limits.read,
      // Limit headers only on 429 answers: on every success they would cost more than the lookup.
      addHeadersOnExceeding: {
        "x-ratelimit-limit": false,
        "x-ratelimit-remaining": false,
        "x-ratelimit-reset": false,
      },
      errorResponseBuilder: (_request, context) => new RateLimitedError(context.after),
    });
  },
  { name: "strongroom-rate-limit" },
);

import { createHmac, randomBytes } from "node:crypto";

/**
 * Per-process key: digests agree within one test run, but a printed digest of a short or
 * well-known test value cannot be looked up in a table of SHA-256s outside it.
 */
const KEY = randomBytes(32);

/** HMAC-SHA-256 (hex) of one JSON leaf; the type is part of the input, so "1" and 1 differ. */
export const digestOf = (leaf: unknown): string =>
  createHmac("sha256", KEY)
    .update(JSON.stringify(leaf) ?? "undefined")
    .digest("hex");

/**
 * `value` with every leaf (string, number, boolean, null) replaced by its digest, and every
 * array and object kept in shape with its keys in clear. Compare these instead of values that
 * hold secrets: `expect(secretDigests(a)).toEqual(secretDigests(b))` fails exactly when `a`
 * and `b` differ (as `toEqual` sees JSON), and its diff names the path that differs (service,
 * group, option, list index, record field) without printing a value. Object keys are printed:
 * they must not be secret.
 */
export function secretDigests(value: unknown): unknown {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.map(secretDigests);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, child]) => [key, secretDigests(child)]),
    );
  }
  return digestOf(value);
}

import { usageError } from "./errors.js";

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
/** `3600`, `90s`, `30m`, `720h`, `30d`, or a sum such as `1h30m` (what Vault's TTL fields take). */
export const DURATION_PATTERN = /^(?:\d+|(?:\d+[smhd])+)$/;

/** Whole seconds of a duration written as DURATION_PATTERN says; `what` names it in the error. */
export function parseDurationSeconds(text: string | number, what: string): number {
  if (typeof text === "number" && Number.isSafeInteger(text) && text >= 0) return text;
  const value = String(text).trim();
  if (!DURATION_PATTERN.test(value)) {
    throw usageError(
      `${what}: "${value.slice(0, 40)}" is not a duration (seconds, or e.g. 90s, 30m, 720h, 30d)`,
    );
  }
  if (/^\d+$/.test(value)) return Number(value);
  let seconds = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)([smhd])/g)) {
    seconds += Number(amount) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
  }
  if (!Number.isSafeInteger(seconds)) throw usageError(`${what}: "${value}" is too long`);
  return seconds;
}

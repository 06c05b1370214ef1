/** Timestamps as Go's time.RFC3339Nano prints them, and Go duration strings, for the KV engine. */

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;
const MAX_DURATION_NS = (1n << 63n) - 1n;

let lastIssued = 0n;

/**
 * Nanoseconds since the epoch for `now`. Calls within one millisecond get strictly increasing
 * values, so a version deleted earlier in the same millisecond already reads as deleted.
 */
export function nanosAt(now: Date): bigint {
  const base = BigInt(now.getTime()) * NS_PER_MS;
  const sameMillisecond = lastIssued >= base && lastIssued < base + NS_PER_MS - 1n;
  lastIssued = sameMillisecond ? lastIssued + 1n : base;
  return lastIssued;
}

/** "2018-03-22T02:24:06.945319214Z"; trailing zeros of the fraction are dropped, as Go does. */
export function formatTimestamp(epochNanos: bigint): string {
  const seconds = epochNanos / NS_PER_S;
  const fraction = (epochNanos % NS_PER_S).toString().padStart(9, "0").replace(/0+$/, "");
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return fraction === "" ? `${whole}Z` : `${whole}.${fraction}Z`;
}

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/;

export function parseTimestamp(text: string): bigint {
  const match = TIMESTAMP.exec(text);
  const millis = match ? Date.parse(`${match[1]}Z`) : Number.NaN;
  if (!match || Number.isNaN(millis)) throw new Error("invalid stored timestamp");
  return BigInt(millis) * NS_PER_MS + BigInt((match[2] ?? "").padEnd(9, "0"));
}

const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n,
  "\u03bcs": 1_000n,
  ms: NS_PER_MS,
  s: NS_PER_S,
  m: 60n * NS_PER_S,
  h: 3600n * NS_PER_S,
};

const DURATION_TERM = /^(\d*)(?:\.(\d*))?([^\d.]+)/;

/** Go's time.ParseDuration, in nanoseconds; undefined when the text is not a duration. */
export function parseGoDuration(text: string): bigint | undefined {
  let rest = text;
  let negative = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    negative = rest.startsWith("-");
    rest = rest.slice(1);
  }
  if (rest === "0") return 0n;
  if (rest === "") return undefined;
  let total = 0n;
  while (rest !== "") {
    const match = DURATION_TERM.exec(rest);
    if (!match) return undefined;
    const [term, whole = "", fraction = "", unit = ""] = match;
    const scale = UNIT_NANOS[unit];
    if ((whole === "" && fraction === "") || scale === undefined) return undefined;
    total += BigInt(whole || "0") * scale;
    if (fraction !== "") total += (BigInt(fraction) * scale) / 10n ** BigInt(fraction.length);
    if (total > MAX_DURATION_NS) return undefined;
    rest = rest.slice(term.length);
  }
  return negative ? -total : total;
}

/** Go's time.Duration.String() for a whole number of seconds: "0s", "45s", "1m30s", "1h0m0s". */
export function formatDurationSeconds(seconds: number): string {
  if (seconds === 0) return "0s";
  const sign = seconds < 0 ? "-" : "";
  const total = Math.abs(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (total < 60) return `${sign}${s}s`;
  if (total < 3600) return `${sign}${m}m${s}s`;
  return `${sign}${h}h${m}m${s}s`;
}

/**
 * Vault's "duration in seconds" field input (parseutil.ParseDurationSecond): a number of
 * seconds, a numeric string, "<n>d", or a Go duration string. Sub-second parts are dropped.
 * The embedded Vault's one duration parser: undefined when the input is none of those, and each
 * caller answers that its own way (the token endpoints' 400, a KV field's conversion error, a
 * policy's parse error, a lease's fallback TTL).
 */
export function parseDurationSeconds(raw: unknown): number | undefined {
  if (typeof raw === "number") return Number.isFinite(raw) ? Math.trunc(raw) : undefined;
  if (typeof raw !== "string") return undefined;
  if (raw === "") return 0;
  if (/^[+-]?\d+$/.test(raw)) return Number.parseInt(raw, 10);
  const days = /^([+-]?\d+)d$/.exec(raw);
  if (days) return Number.parseInt(days[1] ?? "0", 10) * 86_400;
  const nanos = parseGoDuration(raw);
  return nanos === undefined ? undefined : Number(nanos / NS_PER_S);
}

export const secondsToNanos = (seconds: number): bigint => BigInt(seconds) * NS_PER_S;

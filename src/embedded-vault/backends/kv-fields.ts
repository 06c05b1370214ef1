/**
 * Request-field parsing with the weak typing of Vault's sdk/framework field types, the
 * "unrecognized parameters" warning, and RFC 7396 JSON merge patch.
 * Error messages name the field, never its value: a caller may have put a secret in it.
 */
import { badRequest } from "../errors.js";
import { parseGoBool } from "../go-bool.js";
import { parseDurationSeconds } from "./kv-time.js";

export type JsonObject = Record<string, unknown>;

export const isPlainObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Present and not null, as FieldData.GetOk sees a JSON body. */
export const has = (data: JsonObject, field: string): boolean =>
  Object.hasOwn(data, field) && data[field] !== null && data[field] !== undefined;

const conversionError = (field: string, reason?: string) =>
  badRequest(`error converting input for field "${field}"${reason ? `: ${reason}` : ""}`);

export function fieldInt(field: string, raw: unknown): number {
  if (typeof raw === "number" && Number.isFinite(raw)) return Math.trunc(raw);
  if (typeof raw === "string" && /^[+-]?\d+$/.test(raw)) return Number.parseInt(raw, 10);
  if (typeof raw === "boolean") return raw ? 1 : 0;
  throw conversionError(field);
}

export function fieldBool(field: string, raw: unknown): boolean {
  if (typeof raw === "boolean") return raw;
  if (typeof raw === "number" && Number.isFinite(raw)) return raw !== 0;
  const parsed = typeof raw === "string" ? parseGoBool(raw) : undefined;
  if (parsed !== undefined) return parsed;
  throw conversionError(field);
}

/** Seconds; `signed` allows negative values (the engine config uses -1s to mean "disabled"). */
export function fieldDurationSeconds(field: string, raw: unknown, signed: boolean): number {
  const seconds = parseDurationSeconds(raw);
  if (seconds === undefined) throw conversionError(field, "invalid duration");
  if (seconds < 0 && !signed) throw conversionError(field, "cannot provide negative value");
  return seconds;
}

export function fieldMap(field: string, raw: unknown): JsonObject {
  if (!isPlainObject(raw)) throw conversionError(field);
  return raw;
}

/** framework.TypeCommaIntSlice: [1, "2"], "1,2" or 3. */
export function fieldIntList(field: string, raw: unknown): number[] {
  if (raw === undefined || raw === null) return [];
  const items = Array.isArray(raw)
    ? raw
    : typeof raw === "string"
      ? raw.split(",").filter((part) => part.trim() !== "")
      : [raw];
  return items.map((item) => fieldInt(field, typeof item === "string" ? item.trim() : item));
}

/** Go's fmt of a []string: "[a b]". Sorted, since Go's map order is random anyway. */
export function unrecognizedParamsWarnings(data: JsonObject, known: readonly string[]): string[] {
  const ignored = Object.keys(data)
    .filter((key) => !known.includes(key))
    .sort();
  return ignored.length === 0
    ? []
    : [`Endpoint ignored these unrecognized parameters: [${ignored.join(" ")}]`];
}

/** Own-property assignment, so a "__proto__" key stays data instead of changing the prototype. */
function setOwn(target: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** RFC 7396 MergePatch(target, patch); inputs are left untouched. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: JsonObject = isPlainObject(target)
    ? Object.fromEntries(Object.entries(target))
    : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else
      setOwn(result, key, mergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value));
  }
  return result;
}

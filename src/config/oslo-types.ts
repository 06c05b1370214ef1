/**
 * Option values parsed exactly as oslo.config 9.0.0's `types.py` parses them, so a lookup
 * answers what the service itself would read.
 * test/compat/oslo-types.test.ts compares these functions with the real library.
 */
import { ERRORS } from "../lib/errors.js";
import type { OptionType } from "./manifest.js";
import { hostAddressProblem, hostnameProblem, ipAddressProblem, uriProblem } from "./oslo-net.js";
import { PythonValueError, pyFloat, pyInt, pyIsBlank, pyStrip } from "./python-text.js";

/** oslo.config's `type_name` of each type, as its sample configs and errors say. */
export const OSLO_TYPE_NAMES: Record<OptionType, string> = {
  string: "string value",
  integer: "integer value",
  float: "floating point value",
  port: "port",
  boolean: "boolean value",
  list: "list value",
  dict: "dict value",
  ip: "IP address value",
  hostname: "hostname value",
  host_address: "host address value",
  uri: "uri value",
  multi_string: "multi valued",
};

export interface OptionRef {
  service: string;
  group: string;
  option: string;
}

/** A value oslo.config's type would reject (its types raise ValueError); never quotes the value. */
export class OsloValueError extends PythonValueError {}

const PORT_MIN = 0;
const PORT_MAX = 65535;
const TRUE_VALUES = ["true", "1", "on", "yes"];
const FALSE_VALUES = ["false", "0", "off", "no"];

function integer(raw: string): number | string | null {
  return pyIsBlank(raw) ? null : pyInt(raw);
}

function float(raw: string): number | null {
  return pyIsBlank(raw) ? null : pyFloat(raw);
}

function port(raw: string): number | null {
  const value = integer(raw);
  if (value === null) return null;
  if (typeof value === "string" || value < PORT_MIN || value > PORT_MAX) {
    throw new OsloValueError(`must be between ${PORT_MIN} and ${PORT_MAX}`);
  }
  return value;
}

function boolean(raw: string): boolean {
  const s = raw.toLowerCase();
  if (TRUE_VALUES.includes(s)) return true;
  if (FALSE_VALUES.includes(s)) return false;
  throw new OsloValueError(`expected one of ${[...TRUE_VALUES, ...FALSE_VALUES].join(", ")}`);
}

/** `List(String())`: string items never fail, so oslo's re-join-and-retry never happens. */
function list(raw: string): string[] {
  const s = pyStrip(raw).replace(/,+$/, "");
  return s === "" ? [] : s.split(",").map(pyStrip);
}

/** `Dict(String())`, including oslo's quirk of joining a pair without `:` to the next one
 * (`a,b:1` is the key `a,b`). */
function dict(raw: string): Record<string, string> {
  const result: Record<string, string> = {};
  const s = pyStrip(raw);
  if (s === "") return result;
  const pairs = s.split(",");
  while (pairs.length > 0) {
    let pair = pairs.shift()!;
    let colon = pair.indexOf(":");
    while (colon < 0) {
      if (pairs.length === 0)
        throw new OsloValueError("expected NAME:VALUE pairs separated by ','");
      pair += `,${pairs.shift()!}`;
      colon = pair.indexOf(":");
    }
    const key = pyStrip(pair.slice(0, colon));
    if (key === "") throw new OsloValueError("a key is empty");
    if (Object.hasOwn(result, key)) throw new OsloValueError("a key is repeated");
    result[key] = pyStrip(pair.slice(colon + 1));
  }
  return result;
}

function checked(problem: (value: string) => string | undefined) {
  return (raw: string): string => {
    const reason = problem(raw);
    if (reason !== undefined) throw new OsloValueError(reason);
    return raw;
  };
}

/** oslo's Hostname returns the name without its one optional trailing dot. */
const withoutTrailingDot = (name: string) => (name.endsWith(".") ? name.slice(0, -1) : name);

const PARSERS: Record<Exclude<OptionType, "multi_string">, (raw: string) => unknown> = {
  string: (raw) => raw,
  integer,
  float,
  port,
  boolean,
  list,
  dict,
  ip: checked(ipAddressProblem),
  hostname: (raw) => withoutTrailingDot(checked(hostnameProblem)(raw)),
  host_address: (raw) =>
    ipAddressProblem(raw) === undefined
      ? raw
      : withoutTrailingDot(checked(hostAddressProblem)(raw)),
  uri: checked(uriProblem),
};

/** Parses one raw string; throws a PythonValueError. `multi_string` items are plain strings. */
export function parseOsloType(type: OptionType, raw: string): unknown {
  return type === "multi_string" ? raw : PARSERS[type](raw);
}

/**
 * The typed value of an option from its raw form (a list of occurrences for `multi_string`).
 * Throws STRONGROOM_ERR_OPTION_TYPE naming the service, group, option and type, never the value.
 */
export function parseOptionValue(
  type: OptionType,
  raw: string | readonly string[],
  where: OptionRef,
): unknown {
  try {
    if (type === "multi_string") return typeof raw === "string" ? [raw] : [...raw];
    return parseOsloType(type, typeof raw === "string" ? raw : (raw.at(-1) ?? ""));
  } catch (err) {
    // The same code, located: the parsers know the value only.
    if (!(err instanceof PythonValueError)) throw err;
    throw ERRORS.STRONGROOM_ERR_OPTION_TYPE(
      `${where.service} [${where.group}] ${where.option}: not a valid ${OSLO_TYPE_NAMES[type]} (${err.message})`,
      { cause: err },
    );
  }
}

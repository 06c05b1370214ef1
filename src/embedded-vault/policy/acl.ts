import { isDeepStrictEqual } from "node:util";
import type { Operation } from "../types.js";
import type { Capability, PathRule, Policy } from "./policy.js";

const BIT: Record<Capability, number> = {
  create: 1,
  read: 2,
  update: 4,
  patch: 8,
  delete: 16,
  list: 32,
  sudo: 64,
  deny: 128,
};

/** The order sys/capabilities-self reports them in (Vault sorts the names). */
const REPORTED: readonly Capability[] = [
  "create",
  "delete",
  "list",
  "patch",
  "read",
  "sudo",
  "update",
];

/** Operations whose request data Vault checks against parameter constraints. */
const PARAMETER_CHECKED = new Set<Operation>(["read", "create", "update", "patch"]);

interface Permissions {
  bits: number;
  allowed?: Map<string, unknown[]>;
  denied?: Map<string, unknown[]>;
  required: string[];
  minWrappingTtl: number;
  maxWrappingTtl: number;
}

interface WildcardRule {
  /** The pattern without its trailing "*". */
  stem: string;
  isPrefix: boolean;
  /** Split stem when the pattern has "+" segments; null for a plain prefix glob. */
  segments: string[] | null;
  firstWildcard: number;
  wildcards: number;
  permissions: Permissions;
}

/**
 * Vault's path rules, compiled once: exact patterns in a map, wildcard patterns sorted by
 * Vault's priority so that the first match is the most specific one.
 */
export class Acl {
  private readonly exact = new Map<string, Permissions>();
  private readonly wildcardRules: WildcardRule[] = [];

  constructor(policies: Policy[]) {
    const merged = new Map<string, Permissions>();
    for (const policy of policies) {
      for (const rule of policy.rules) {
        const existing = merged.get(rule.pattern);
        merged.set(rule.pattern, existing ? mergeRule(existing, rule) : fromRule(rule));
      }
    }
    for (const [pattern, permissions] of merged) {
      const compiled = compile(pattern, permissions);
      if (compiled) this.wildcardRules.push(compiled);
      else this.exact.set(pattern, permissions);
    }
    this.wildcardRules.sort(byPriority);
  }

  capabilities(path: string): Capability[] {
    const bits = this.lookup(stripLeadingSlashes(path), true)?.bits ?? 0;
    if (bits & BIT.deny) return ["deny"];
    const capabilities = REPORTED.filter((capability) => bits & BIT[capability]);
    return capabilities.length > 0 ? capabilities : ["deny"];
  }

  /**
   * `data` is the request's parameters, checked against allowed/denied/required_parameters
   * for read, create, update and patch; omitted means none were sent.
   */
  allows(path: string, op: Operation, needsSudo = false, data?: Record<string, unknown>): boolean {
    let normalized = stripLeadingSlashes(path);
    // Vault's HTTP layer always appends the slash to LIST paths before the ACL sees them.
    if (op === "list" && !normalized.endsWith("/")) normalized += "/";
    const permissions = this.lookup(normalized, op === "list");
    if (!permissions) return false;
    const { bits } = permissions;
    if (bits & BIT.deny || !(bits & BIT[op])) return false;
    if (needsSudo && !(bits & BIT.sudo)) return false;
    // Only response-wrapped requests satisfy wrapping TTL limits, and this server never wraps.
    if (permissions.minWrappingTtl > 0 || permissions.maxWrappingTtl > 0) return false;
    if (PARAMETER_CHECKED.has(op)) return parametersAllowed(permissions, data ?? {});
    return true;
  }

  private lookup(path: string, isList: boolean): Permissions | undefined {
    const exact = this.exact.get(path);
    if (exact) return exact;
    if (isList && path.endsWith("/")) {
      const trimmed = path.slice(0, -1);
      // Vault tries the path without its slash first, exact and then wildcards.
      const found = this.exact.get(trimmed) ?? this.matchWildcards(trimmed);
      if (found) return found;
    }
    return this.matchWildcards(path);
  }

  private matchWildcards(path: string): Permissions | undefined {
    let parts: string[] | undefined;
    for (const rule of this.wildcardRules) {
      if (rule.segments === null) {
        if (path.startsWith(rule.stem)) return rule.permissions;
        continue;
      }
      parts ??= path.split("/");
      if (matchesSegments(rule, rule.segments, parts)) return rule.permissions;
    }
    return undefined;
  }
}

function compile(pattern: string, permissions: Permissions): WildcardRule | undefined {
  const isPrefix = pattern.endsWith("*");
  const stem = isPrefix ? pattern.slice(0, -1) : pattern;
  const segments = stem.split("/");
  const wildcards = segments.filter((segment) => segment === "+").length;
  if (wildcards === 0) {
    if (!isPrefix) return undefined;
    return { stem, isPrefix, segments: null, firstWildcard: stem.length, wildcards, permissions };
  }
  const firstPlus = segments.indexOf("+");
  const firstWildcard = segments
    .slice(0, firstPlus)
    .reduce((offset, s) => offset + s.length + 1, 0);
  return { stem, isPrefix, segments, firstWildcard, wildcards, permissions };
}

/** Vault's segment matching: "+" takes any one segment (even an empty one). */
function matchesSegments(rule: WildcardRule, segments: string[], parts: string[]): boolean {
  if (parts.length < segments.length) return false;
  if (!rule.isPrefix && parts.length !== segments.length) return false;
  const last = segments.length - 1;
  for (let i = 0; i <= last; i++) {
    const segment = segments[i] as string;
    const part = parts[i] as string;
    if (segment === "+" || segment === part) continue;
    if (rule.isPrefix && i === last && part.startsWith(segment)) continue;
    return false;
  }
  return true;
}

/** Negative when `a` is more specific (Vault's "Priority matching" rules, in order). */
function byPriority(a: WildcardRule, b: WildcardRule): number {
  if (a.firstWildcard !== b.firstWildcard) return b.firstWildcard - a.firstWildcard;
  if (a.isPrefix !== b.isPrefix) return a.isPrefix ? 1 : -1;
  if (a.wildcards !== b.wildcards) return a.wildcards - b.wildcards;
  if (a.stem.length !== b.stem.length) return b.stem.length - a.stem.length;
  return a.stem < b.stem ? 1 : a.stem > b.stem ? -1 : 0;
}

function fromRule(rule: PathRule): Permissions {
  return {
    bits: bitsOf(rule.capabilities),
    allowed: rule.allowedParameters ? new Map(Object.entries(rule.allowedParameters)) : undefined,
    denied: rule.deniedParameters ? new Map(Object.entries(rule.deniedParameters)) : undefined,
    required: [...(rule.requiredParameters ?? [])],
    minWrappingTtl: rule.minWrappingTtl ?? 0,
    maxWrappingTtl: rule.maxWrappingTtl ?? 0,
  };
}

/** Vault's merge of identical patterns: deny wins outright, otherwise a union. */
function mergeRule(existing: Permissions, rule: PathRule): Permissions {
  if (existing.bits & BIT.deny) return existing;
  const incoming = fromRule(rule);
  if (incoming.bits & BIT.deny)
    return { ...existing, bits: BIT.deny, allowed: undefined, denied: undefined };
  return {
    bits: existing.bits | incoming.bits,
    allowed: mergeParameters(existing.allowed, incoming.allowed),
    denied: mergeParameters(existing.denied, incoming.denied),
    required: [...new Set([...existing.required, ...incoming.required])],
    // The shorter lifetime wins for both limits.
    minWrappingTtl: smallerNonZero(existing.minWrappingTtl, incoming.minWrappingTtl),
    maxWrappingTtl: smallerNonZero(existing.maxWrappingTtl, incoming.maxWrappingTtl),
  };
}

function mergeParameters(
  existing: Map<string, unknown[]> | undefined,
  incoming: Map<string, unknown[]> | undefined,
): Map<string, unknown[]> | undefined {
  if (!incoming || incoming.size === 0) return existing;
  if (!existing) return new Map(incoming);
  const merged = new Map(existing);
  for (const [name, values] of incoming) {
    const current = merged.get(name);
    // An empty list means "any value" and absorbs everything else.
    const anyValue = values.length === 0 || (current !== undefined && current.length === 0);
    merged.set(name, anyValue ? [] : [...values, ...(current ?? [])]);
  }
  return merged;
}

function parametersAllowed(permissions: Permissions, data: Record<string, unknown>): boolean {
  for (const required of permissions.required) {
    if (!Object.hasOwn(data, required.toLowerCase())) return false;
  }
  const entries = Object.entries(data);
  if (entries.length === 0) return true;

  const { denied, allowed } = permissions;
  if (denied && denied.size > 0) {
    if (denied.has("*")) return false;
    for (const [name, value] of entries) {
      const values = denied.get(name.toLowerCase());
      if (values && valueListed(value, values, "any")) return false;
    }
  }

  if (!allowed || allowed.size === 0) return true;
  const allowAll = allowed.has("*");
  if (allowAll && allowed.size === 1) return true;
  for (const [name, value] of entries) {
    const values = allowed.get(name.toLowerCase());
    if (values === undefined) {
      if (!allowAll) return false;
    } else if (!valueListed(value, values, "every")) {
      return false;
    }
  }
  return true;
}

/** Lists and comma-separated strings are checked element by element, as Vault does. */
function valueListed(value: unknown, values: unknown[], mode: "any" | "every"): boolean {
  if (values.length === 0 || inList(value, values)) return true;
  const elements = Array.isArray(value)
    ? value
    : typeof value === "string"
      ? value.split(",").map((element) => element.trim())
      : undefined;
  if (!elements) return false;
  return mode === "any"
    ? elements.some((element) => inList(element, values))
    : elements.every((element) => inList(element, values));
}

function inList(value: unknown, values: unknown[]): boolean {
  return values.some((candidate) => {
    if (candidate == null || value == null) return candidate === value;
    if (typeof candidate === "string")
      return typeof value === "string" && globMatch(candidate, value);
    return isDeepStrictEqual(candidate, value);
  });
}

/** Vault's GlobbedStringsMatch: a leading and/or trailing "*" only. */
function globMatch(pattern: string, value: string): boolean {
  if (pattern.length < 2) return pattern === value;
  const leading = pattern.startsWith("*");
  const trailing = pattern.endsWith("*");
  if (leading && trailing) return value.includes(pattern.slice(1, -1));
  if (leading) return value.endsWith(pattern.slice(1));
  if (trailing) return value.startsWith(pattern.slice(0, -1));
  return pattern === value;
}

function bitsOf(capabilities: readonly Capability[]): number {
  let bits = 0;
  for (const capability of capabilities) bits |= BIT[capability];
  return bits;
}

function smallerNonZero(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}

function stripLeadingSlashes(path: string): string {
  return path.startsWith("/") ? path.replace(/^\/+/, "") : path;
}

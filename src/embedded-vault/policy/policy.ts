import { parseDurationSeconds } from "../backends/kv-time.js";
import { badRequest, type VaultError } from "../errors.js";
import { hclToJson } from "../hcl.js";

export type Capability =
  | "create"
  | "read"
  | "update"
  | "patch"
  | "delete"
  | "list"
  | "sudo"
  | "deny";

export const CAPABILITIES: readonly Capability[] = [
  "create",
  "read",
  "update",
  "patch",
  "delete",
  "list",
  "sudo",
  "deny",
];

export interface PathRule {
  /** Without a leading "/"; `*` only at the end, `+` as a whole segment. */
  pattern: string;
  /** Deduplicated; exactly ["deny"] when the rule denies. */
  capabilities: Capability[];
  /** Parameter names lower-cased, as Vault does; an empty list allows/denies any value. */
  allowedParameters?: Record<string, unknown[]>;
  deniedParameters?: Record<string, unknown[]>;
  requiredParameters?: string[];
  /** Seconds. */
  minWrappingTtl?: number;
  maxWrappingTtl?: number;
}

export interface Policy {
  name: string;
  /** The policy text as stored and served back (base64 input is stored decoded, like Vault). */
  text: string;
  rules: PathRule[];
}

export const DEFAULT_POLICY_TEXT = `# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its resultant ACL from all policies. This is useful
# for UIs. It is an internal path because the format may change at any time
# based on how the internal ACL features and capabilities change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body; old path for
# old clients, new path for newer
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead
# of time and does not divulge any sensitive information.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Allow general purpose tools
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}
path "sys/tools/random" {
    capabilities = ["update"]
}
path "sys/tools/random/*" {
    capabilities = ["update"]
}

# Allow checking the status of a Control Group request if the user has the
# accessor
path "sys/control-group/request" {
    capabilities = ["update"]
}
`;

export function normalizePolicyName(name: string): string {
  return name.trim().toLowerCase();
}

export function parsePolicy(name: string, text: string): Policy {
  const normalized = normalizePolicyName(name);
  if (normalized === "") throw badRequest("policy name missing");
  if (normalized.includes("..") || normalized.includes("\0")) {
    throw badRequest(`invalid policy name "${normalized}"`);
  }
  // Vault's sys/policies/acl accepts base64; a base64 string is never a useful HCL policy.
  const decoded = decodeBase64(text);
  if (decoded !== undefined) {
    try {
      return { name: normalized, text: decoded, rules: parseRules(decoded) };
    } catch {
      // Not a policy after all: report the errors of the text as given.
    }
  }
  return { name: normalized, text, rules: parseRules(text) };
}

const LEGACY_POLICIES = new Map<string, Capability[]>([
  ["deny", ["deny"]],
  ["read", ["read", "list"]],
  ["write", ["create", "read", "update", "delete", "list"]],
  ["sudo", ["create", "read", "update", "delete", "list", "sudo"]],
]);

const PATH_KEYS = new Set([
  "comment",
  "policy",
  "capabilities",
  "allowed_parameters",
  "denied_parameters",
  "required_parameters",
  "min_wrapping_ttl",
  "max_wrapping_ttl",
  "mfa_methods",
  "control_group",
]);

const parseError = (reason: string): VaultError => badRequest(`failed to parse policy: ${reason}`);

function parseRules(text: string): PathRule[] {
  const root = parseHcl(text);
  const rules: PathRule[] = [];
  for (const [key, value] of Object.entries(root)) {
    if (key === "name") continue;
    if (key !== "path") throw parseError(`invalid key "${key}"`);
    for (const [pattern, body] of pathBlocks(value)) rules.push(parseRule(pattern, body));
  }
  return rules;
}

function parseHcl(text: string): Record<string, unknown> {
  let json: string;
  try {
    json = hclToJson(text);
  } catch (error) {
    throw parseError(error instanceof Error ? error.message : String(error));
  }
  if (json.startsWith("unable to")) throw parseError(json.replace(/^unable to [^:]*: /, ""));
  const root: unknown = JSON.parse(json);
  if (!isRecord(root)) throw parseError("does not contain a root object");
  return root;
}

/** `path "p" { ... }` arrives as [{ "p": [{ ... }] }]; JSON input may skip either array. */
function pathBlocks(value: unknown): Array<[string, Record<string, unknown>]> {
  const blocks: Array<[string, Record<string, unknown>]> = [];
  for (const item of asList(value)) {
    if (!isRecord(item)) throw parseError(`"path" must be a block: path "<pattern>" { ... }`);
    for (const [pattern, bodies] of Object.entries(item)) {
      for (const body of asList(bodies)) {
        if (!isRecord(body)) throw parseError(`path "${pattern}": must be a block`);
        blocks.push([pattern, body]);
      }
    }
  }
  return blocks;
}

function parseRule(key: string, body: Record<string, unknown>): PathRule {
  const fail = (reason: string) => parseError(`path "${key}": ${reason}`);
  for (const attribute of Object.keys(body)) {
    if (!PATH_KEYS.has(attribute)) throw fail(`invalid key "${attribute}"`);
  }
  const pattern = key.replace(/^\/+/, "");
  checkPattern(pattern, fail);

  if (body.capabilities === undefined && body.policy === undefined)
    throw fail("missing capabilities");
  const capabilities = new Set<Capability>();
  if (body.capabilities !== undefined) {
    if (!Array.isArray(body.capabilities)) throw fail("capabilities must be a list of strings");
    for (const capability of body.capabilities) {
      if (typeof capability !== "string" || !isCapability(capability)) {
        throw fail(`invalid capability ${JSON.stringify(capability)}`);
      }
      capabilities.add(capability);
    }
  }
  if (body.policy !== undefined) {
    const legacy = typeof body.policy === "string" ? LEGACY_POLICIES.get(body.policy) : undefined;
    if (!legacy) throw fail(`invalid policy ${JSON.stringify(body.policy)}`);
    for (const capability of legacy) capabilities.add(capability);
  }

  if (capabilities.has("deny")) return { pattern, capabilities: ["deny"] };
  const rule: PathRule = { pattern, capabilities: CAPABILITIES.filter((c) => capabilities.has(c)) };
  if (body.allowed_parameters !== undefined) {
    rule.allowedParameters = parameterMap(body.allowed_parameters, "allowed_parameters", fail);
  }
  if (body.denied_parameters !== undefined) {
    rule.deniedParameters = parameterMap(body.denied_parameters, "denied_parameters", fail);
  }
  if (body.required_parameters !== undefined) {
    const required = body.required_parameters;
    if (!Array.isArray(required) || !required.every((p) => typeof p === "string")) {
      throw fail("required_parameters must be a list of strings");
    }
    rule.requiredParameters = required;
  }
  if (body.min_wrapping_ttl !== undefined) {
    rule.minWrappingTtl = durationSeconds(body.min_wrapping_ttl, "min_wrapping_ttl", fail);
  }
  if (body.max_wrapping_ttl !== undefined) {
    rule.maxWrappingTtl = durationSeconds(body.max_wrapping_ttl, "max_wrapping_ttl", fail);
  }
  if (rule.minWrappingTtl && rule.maxWrappingTtl && rule.maxWrappingTtl < rule.minWrappingTtl) {
    throw fail("max_wrapping_ttl cannot be less than min_wrapping_ttl");
  }
  return rule;
}

function checkPattern(pattern: string, fail: (reason: string) => VaultError): void {
  if (pattern.includes("\0")) throw fail("invalid character in path");
  const star = pattern.indexOf("*");
  if (star !== -1 && star !== pattern.length - 1) {
    throw fail("invalid use of wildcards ('*' is only allowed at the end)");
  }
  if (pattern.includes("+*")) throw fail("invalid use of wildcards ('+*' is forbidden)");
}

function parameterMap(
  value: unknown,
  attribute: string,
  fail: (reason: string) => VaultError,
): Record<string, unknown[]> {
  const parameters: Record<string, unknown[]> = Object.create(null);
  for (const block of asList(value)) {
    if (!isRecord(block)) throw fail(`${attribute} must be a map of parameter names to lists`);
    for (const [parameter, values] of Object.entries(block)) {
      if (!Array.isArray(values)) throw fail(`${attribute}: "${parameter}" must be a list`);
      parameters[parameter.toLowerCase()] = values;
    }
  }
  return parameters;
}

/** Vault's ParseDurationSecond (integer seconds, "Nd", or Go syntax), never negative. */
function durationSeconds(
  value: unknown,
  attribute: string,
  fail: (reason: string) => VaultError,
): number {
  const seconds =
    typeof value === "number" && !Number.isInteger(value) ? undefined : parseDurationSeconds(value);
  if (seconds !== undefined && seconds >= 0) return seconds;
  throw fail(`error parsing ${attribute}: invalid duration ${JSON.stringify(value)}`);
}

function decodeBase64(text: string): string | undefined {
  const compact = text.replace(/[\r\n]/g, "");
  if (compact === "" || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    return undefined;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(compact, "base64"));
  } catch {
    return undefined;
  }
}

function isCapability(value: string): value is Capability {
  return (CAPABILITIES as readonly string[]).includes(value);
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

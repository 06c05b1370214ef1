/**
 * Seed inputs: where existing secret values come from.
 *
 * - `tripleo`: a Heat environment with `parameter_defaults` (or an older plan-environment's
 *   `passwords`), with TripleO's legacy and upgrade rules applied.
 * - `kolla`: kolla-ansible's passwords.yml: a map of kolla keys whose empty values are generated
 *   with kolla-genpwd's rules (config/kolla-passwords.ts), the `*_ssh_key` maps kept as maps.
 * - `yaml` / `json`: a flat map of name -> string (or map, for map-valued secrets).
 * - `ini`: oslo.config INI syntax, read by config/oslo-ini.ts; only the `[secrets]` section is
 *   read, each key a secret name. Values lose surrounding whitespace and one pair of quotes
 *   (a lone quote character counts as a pair), as oslo.config does.
 * - `env`: `NAME=VALUE` lines, `export ` prefix, `#` comments, single quotes (literal) and
 *   double quotes (backslash escapes), both of which may span lines.
 *
 * Problems name the file and line, never a value.
 */
import { extname } from "node:path";
import { isAlias, isMap, isPair, isScalar, type Node, type Pair } from "yaml";
import {
  isKollaKey,
  KOLLA_BLANK_KEYS,
  KOLLA_MARKER_KEYS,
  KOLLA_SSH_KEYS,
  type KollaPasswordKey,
  kollaGeneratorSpecOrDefault,
  SSH_KEY_FIELDS,
} from "../config/kolla-passwords.js";
import type { Manifest } from "../config/manifest.js";
import type { GeneratorSpec } from "../config/manifest-schema.js";
import { SECRET_NAME_PATTERN } from "../config/manifest-schema.js";
import { type IniProblemKind, scanOsloIni } from "../config/oslo-ini.js";
import type { SecretValue } from "../config/secret-value.js";
import {
  ED25519_FLAG,
  isTripleoParameter,
  LEGACY_PARAMETERS,
  UPGRADE_DEFAULTS,
} from "../config/tripleo-parameters.js";
import { formatProblems, type Problem, sortProblems, YamlSource } from "../config/yaml-source.js";
import { ERRORS, StrongroomError } from "../lib/errors.js";
import { FERNET_KEY_DIRECTORY } from "./generators.js";

export const SEED_FORMATS = ["tripleo", "kolla", "yaml", "json", "ini", "env"] as const;
export type SeedFormat = (typeof SEED_FORMATS)[number];

/** STRONGROOM_ERR_SEED_INPUT, each problem with its file and line (never a value). */
export class SeedInputError extends StrongroomError {
  constructor(readonly problems: readonly Problem[]) {
    super(ERRORS.STRONGROOM_ERR_SEED_INPUT.code, formatProblems(problems));
    this.name = "SeedInputError";
  }
}

export interface SeedOptions {
  /** Refuse names the format does not know (kolla: keys not in kolla's template; tripleo:
   * names that are not TripleO password parameters, current or legacy). */
  strict?: boolean;
}

export interface SeedFlags {
  /** TripleO's switch to ed25519 MariaDB passwords; recorded, not stored as a secret. */
  enableMysqlAuthEd25519?: boolean;
}

/** The parsed values, plus what the parser did with them (notes carry names only). */
export class SeedInput extends Map<string, SecretValue> {
  readonly notes: string[] = [];
  readonly flags: SeedFlags = {};
  /** Names the input lists without a value (kolla), with the rule that generates each. */
  readonly empty = new Map<string, GeneratorSpec>();

  constructor(
    readonly file: string,
    readonly format: SeedFormat,
  ) {
    super();
  }
}

export function parseSeedInput(
  text: string,
  file: string,
  format?: SeedFormat,
  options: SeedOptions = {},
): SeedInput {
  const chosen = format ?? detectSeedFormat(text, file);
  const input = new SeedInput(file, chosen);
  const problems =
    chosen === "ini"
      ? parseIni(text, input)
      : chosen === "env"
        ? parseEnv(text, input)
        : parseYamlMap(text, input, options);
  if (problems.length > 0) throw new SeedInputError(sortProblems(problems));
  if (chosen === "tripleo") applyTripleoRules(input);
  return input;
}

const ENV_LINE = /^(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=/;
const TRIPLEO_TOP = /^(parameter_defaults|passwords)\s*:/m;
const KOLLA_TOP = new RegExp(`^(${KOLLA_MARKER_KEYS.join("|")})\\s*:`, "m");

export function detectSeedFormat(text: string, file: string): SeedFormat {
  const ext = extname(file).toLowerCase();
  if (ext === ".json") return "json";
  if ([".ini", ".conf", ".cfg"].includes(ext)) return "ini";
  if (ext === ".env" || file.endsWith("/.env") || file === ".env") return "env";
  const first = text.split(/\r?\n/).find((l) => l.trim() !== "" && !/^\s*[#;]/.test(l)) ?? "";
  if (![".yaml", ".yml"].includes(ext)) {
    if (first.trimStart().startsWith("{")) return "json";
    if (first.startsWith("[")) return "ini";
    if (ENV_LINE.test(first)) return "env";
  }
  if (TRIPLEO_TOP.test(text)) return "tripleo";
  return KOLLA_TOP.test(text) ? "kolla" : "yaml";
}

/** Not quoted: a malformed line may be a value that lost its name (a pasted password). */
const nameProblem = (name: string): string | undefined =>
  SECRET_NAME_PATTERN.test(name)
    ? undefined
    : "invalid secret name (a letter first, then letters, digits, _ or -)";

// ---------------------------------------------------------------- YAML, JSON, TripleO

/** Sections of a Heat environment, or of an older plan-environment.yaml, that may sit
 * beside the passwords and hold none. */
const NON_SECRET_SECTIONS = new Set([
  "resource_registry",
  "parameters",
  "parameter_merge_strategies",
  "event_sinks",
  "encrypted_parameters",
  "version",
  "name",
  "description",
  "template",
  "environments",
  "workflow_parameters",
  "playbook_parameters",
]);

function parseYamlMap(text: string, input: SeedInput, options: SeedOptions): Problem[] {
  const source = new YamlSource(text, input.file);
  const syntax = source.syntaxProblems();
  if (syntax.length > 0) return syntax;
  const root = source.doc.contents;
  const what = input.format === "tripleo" ? "a Heat environment map" : "a map of name: value";
  if (!isMap(root)) return [source.problemAtNode(root, `the input must be ${what}`)];
  if (input.format === "kolla") return readKollaEntries(source, root.items, input, options);
  if (input.format !== "tripleo") return readEntries(source, root.items, input);

  const problems: Problem[] = [];
  let sections = 0;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    const value = resolve(source, pair.value as Node | null);
    if (key === "parameter_defaults" || key === "passwords") {
      sections++;
      if (isMap(value)) {
        problems.push(...readEntries(source, value.items, input));
        if (options.strict) problems.push(...unknownTripleoNames(source, value.items));
      } else
        problems.push(source.problemAtNode(value ?? (pair.key as Node), `${key} must be a map`));
    } else if (NON_SECRET_SECTIONS.has(key)) {
      input.notes.push(`ignored the "${key}" section (no secrets there)`);
    } else {
      problems.push(source.problemAtNode(pair.key as Node, `unexpected top-level key "${key}"`));
    }
  }
  if (sections === 0 && problems.length === 0) {
    problems.push(source.problemAtNode(root, "no parameter_defaults section"));
  }
  return problems;
}

function resolve(source: YamlSource, node: Node | null): Node | null {
  return isAlias(node) ? ((node.resolve(source.doc) as Node | undefined) ?? null) : node;
}

function readEntries(source: YamlSource, pairs: readonly Pair[], input: SeedInput): Problem[] {
  const problems: Problem[] = [];
  for (const pair of pairs) {
    if (!isPair(pair) || !isScalar(pair.key) || typeof pair.key.value !== "string") {
      problems.push(source.problemAtNode(pair.key as Node, "names must be strings"));
      continue;
    }
    const keyNode = pair.key as Node;
    const name = pair.key.value;
    const at = (reason: string) => source.problemAtNode(keyNode, reason);
    const badName = nameProblem(name);
    if (badName) {
      problems.push(at(badName));
      continue;
    }
    const node = resolve(source, pair.value as Node | null);
    let value: unknown;
    try {
      value = isScalar(node) ? node.value : node?.toJS(source.doc);
    } catch {
      problems.push(at(`${name}: aliases expand too far`));
      continue;
    }
    if (name === ED25519_FLAG) {
      if (typeof value === "boolean") {
        input.flags.enableMysqlAuthEd25519 = value;
        input.notes.push(`${ED25519_FLAG} is ${value}: recorded as a flag, not a secret`);
      } else {
        problems.push(at(`${ED25519_FLAG} must be true or false`));
      }
    } else if (typeof value === "string") {
      if (value === "") problems.push(at(`${name} has an empty value`));
      else input.set(name, value);
    } else if (isMap(node) && isPlainMap(value)) {
      input.set(name, value);
    } else if (value === null || value === undefined) {
      problems.push(at(`${name} has no value`));
    } else if (typeof value === "number" || typeof value === "boolean") {
      problems.push(at(`${name} must be a string, not a ${typeof value} (quote it)`));
    } else {
      problems.push(at(`${name} must be a string or a map`));
    }
  }
  return problems;
}

function unknownTripleoNames(source: YamlSource, pairs: readonly Pair[]): Problem[] {
  return pairs.flatMap((pair) => {
    const name = isScalar(pair.key) ? String(pair.key.value) : "";
    const known = isTripleoParameter(name) || LEGACY_PARAMETERS.has(name) || name === ED25519_FLAG;
    return known
      ? []
      : [source.problemAtNode(pair.key as Node, `${name} is not a TripleO password parameter`)];
  });
}

/** kolla's passwords.yml: an empty value (null or "") is one kolla-genpwd would generate. */
function readKollaEntries(
  source: YamlSource,
  pairs: readonly Pair[],
  input: SeedInput,
  options: SeedOptions,
): Problem[] {
  const problems: Problem[] = [];
  // In input order: a set value is read like any YAML map's (which names its problems).
  const readValue = (pair: Pair) => problems.push(...readEntries(source, [pair], input));
  for (const pair of pairs) {
    const name = isScalar(pair.key) ? pair.key.value : undefined;
    if (typeof name !== "string" || nameProblem(name)) {
      readValue(pair);
      continue;
    }
    const at = (reason: string) => source.problemAtNode(pair.key as Node, reason);
    const node = resolve(source, pair.value as Node | null);
    if (options.strict && !isKollaKey(name)) {
      problems.push(at(`${name} is not a key of kolla-ansible's passwords.yml`));
    } else if (KOLLA_SSH_KEYS.has(name as KollaPasswordKey)) {
      const problem = readSshKey(source, name, node, input);
      if (problem) problems.push(at(problem));
    } else if (isEmpty(node)) {
      if (KOLLA_BLANK_KEYS.has(name as KollaPasswordKey)) {
        input.notes.push(`${name} left blank, as kolla-genpwd does`);
      } else {
        input.empty.set(name, kollaGeneratorSpecOrDefault(name));
      }
    } else {
      readValue(pair);
    }
  }
  return problems;
}

const isEmpty = (node: Node | null): boolean =>
  node === null || (isScalar(node) && (node.value === null || node.value === ""));

/** An ssh key map: both fields set (kept) or both empty (generated); anything else is wrong. */
function readSshKey(
  source: YamlSource,
  name: string,
  node: Node | null,
  input: SeedInput,
): string | undefined {
  const shape = `${name} must be a map {${SSH_KEY_FIELDS.join(", ")}}`;
  if (isEmpty(node)) {
    input.empty.set(name, kollaGeneratorSpecOrDefault(name));
    return undefined;
  }
  if (!isMap(node)) return shape;
  const fields = new Map(
    node.items.map((pair) => [
      isScalar(pair.key) ? String(pair.key.value) : "",
      resolve(source, pair.value as Node | null),
    ]),
  );
  if (fields.size !== SSH_KEY_FIELDS.length || !SSH_KEY_FIELDS.every((f) => fields.has(f))) {
    return shape;
  }
  const values = SSH_KEY_FIELDS.map((f) => fields.get(f) ?? null);
  if (values.every(isEmpty)) {
    input.empty.set(name, kollaGeneratorSpecOrDefault(name));
    return undefined;
  }
  const strings = values.map((v) => (isScalar(v) ? v.value : undefined));
  if (!strings.every((v) => typeof v === "string" && v !== "")) {
    return `${name}: ${SSH_KEY_FIELDS.join(" and ")} must both be set, or both be empty`;
  }
  input.set(name, Object.fromEntries(SSH_KEY_FIELDS.map((f, i) => [f, strings[i] as string])));
  return undefined;
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype
  );
}

/** TripleO's own handling of files from older releases (reference §1.1, §1.2). */
function applyTripleoRules(input: SeedInput): void {
  const adminToken = input.get("AdminToken");
  if (adminToken !== undefined) {
    input.delete("AdminToken");
    if (input.has("KeystonePassword")) {
      input.notes.push("AdminToken dropped: KeystonePassword is present (legacy name)");
    } else {
      input.set("KeystonePassword", adminToken);
      input.notes.push("AdminToken imported as KeystonePassword (legacy name)");
    }
  }

  const legacyKeys = ["KeystoneFernetKey0", "KeystoneFernetKey1"].filter((n) => input.has(n));
  if (legacyKeys.length > 0) {
    if (input.has("KeystoneFernetKeys")) {
      input.notes.push(`${legacyKeys.join(", ")} dropped: KeystoneFernetKeys is present`);
    } else {
      const repository: Record<string, { content: SecretValue }> = {};
      for (const name of legacyKeys) {
        repository[`${FERNET_KEY_DIRECTORY}/${name.at(-1)}`] = { content: input.get(name)! };
      }
      input.set("KeystoneFernetKeys", repository);
      input.notes.push(`${legacyKeys.join(", ")} mapped into KeystoneFernetKeys (legacy names)`);
    }
    for (const name of legacyKeys) input.delete(name);
  }

  const kept = [...input.keys()].filter((n) => LEGACY_PARAMETERS.has(n));
  if (kept.length > 0) {
    input.notes.push(`kept parameters TripleO no longer generates: ${kept.join(", ")}`);
  }

  for (const { name, from } of UPGRADE_DEFAULTS) {
    const value = input.get(from);
    if (!input.has(name) && typeof value === "string") {
      input.set(name, value);
      input.notes.push(`${name} is missing: set to ${from}'s value, as TripleO does on upgrade`);
    }
  }
}

/** A problem on a whole line of a flat format (INI, env). */
const lineProblem =
  (file: string) =>
  (line: number, reason: string): Problem => ({ file, line, col: 1, reason });

/** The checks every flat format (INI, env) makes on a NAME = value entry, in one place. */
function flatEntryAccepter(
  input: SeedInput,
  problems: Problem[],
  at: (line: number, reason: string) => Problem,
): (name: string, line: number, value: string) => void {
  const seen = new Map<string, number>();
  return (name, line, value) => {
    const badName = nameProblem(name);
    if (badName) {
      problems.push(at(line, badName));
      return;
    }
    const first = seen.get(name);
    if (first !== undefined) {
      problems.push(at(line, `${name} is already set on line ${first}`));
      return;
    }
    seen.set(name, line);
    if (value === "") problems.push(at(line, `${name} has an empty value`));
    else input.set(name, value);
  };
}

// ---------------------------------------------------------------- INI

const INI_SECTION = "secrets";

/** Seed's words for oslo's line problems: they say what to write instead. */
const INI_PROBLEMS: Record<IniProblemKind, string> = {
  continuation: "unexpected continuation line",
  section: "bad section header",
  separator: "expected name = value",
  "no-section": `assignment before any section: start with [${INI_SECTION}]`,
  "empty-key": "empty name",
};

/** oslo.config's INI rules (its `iniparser.py`), by the one parser that has
 * them, with every problem reported; only [secrets] holds secrets. */
function parseIni(text: string, input: SeedInput): Problem[] {
  const problems: Problem[] = [];
  const at = lineProblem(input.file);
  const accept = flatEntryAccepter(input, problems, at);
  const scan = scanOsloIni(text, input.file);
  for (const { line, kind } of scan.problems) problems.push(at(line, INI_PROBLEMS[kind]));
  for (const { name, line } of scan.sections) {
    if (name !== INI_SECTION) {
      problems.push(at(line, `unknown section [${name}]: secrets go under [${INI_SECTION}]`));
    }
  }
  for (const { section, key, line, value } of scan.assignments) {
    if (section === INI_SECTION) accept(key, line, value);
  }
  return problems;
}

// ---------------------------------------------------------------- env

const ENV_ASSIGNMENT = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/;
const DOUBLE_QUOTE_ESCAPES: Record<string, string> = {
  n: "\n",
  r: "\r",
  t: "\t",
  "\\": "\\",
  '"': '"',
  $: "$",
  "`": "`",
};

function parseEnv(text: string, input: SeedInput): Problem[] {
  const problems: Problem[] = [];
  const at = lineProblem(input.file);
  const accept = flatEntryAccepter(input, problems, at);
  const lines = text.split(/\r?\n/);

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = ENV_ASSIGNMENT.exec(line);
    if (!match) {
      problems.push(at(lineNo, "expected NAME=VALUE"));
      continue;
    }
    const name = match[1]!;
    let rest = match[2]!;
    let value: string;
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      // Quoted values may span lines (PEM keys); read on until the closing quote.
      let body = rest.slice(1);
      let end = findClosingQuote(body, quote);
      while (end < 0 && i + 1 < lines.length) {
        body += `\n${lines[++i]}`;
        end = findClosingQuote(body, quote);
      }
      if (end < 0) {
        problems.push(
          at(lineNo, `${name}: unterminated ${quote === '"' ? "double" : "single"} quote`),
        );
        break;
      }
      const tail = body.slice(end + 1).trim();
      if (tail !== "" && !tail.startsWith("#")) {
        problems.push(at(lineNo, `${name}: unexpected text after the closing quote`));
        continue;
      }
      body = body.slice(0, end);
      value = quote === "'" ? body : unescapeDoubleQuoted(body);
    } else {
      rest = rest.replace(/\s+#.*$/, "");
      value = rest.trim();
    }
    accept(name, lineNo, value);
  }
  return problems;
}

function findClosingQuote(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (quote === '"' && body[i] === "\\") i++;
    else if (body[i] === quote) return i;
  }
  return -1;
}

function unescapeDoubleQuoted(body: string): string {
  return body.replace(/\\(.)/gs, (whole, c: string) => DOUBLE_QUOTE_ESCAPES[c] ?? whole);
}

// ---------------------------------------------------------------- plan

export type SeedAction = "keep" | "import" | "generate" | "missing";

export interface SeedPlanEntry {
  name: string;
  action: SeedAction;
  /** False for input names the manifest does not list: stored, but no service reads them. */
  listed: boolean;
  /** The input had a value, but the store's wins: changing a live secret is a rotation. */
  inputIgnored?: boolean;
}

/** What seeding would do, name by name; never carries a value. Manifest order first, then
 * unlisted input names in input order. */
export function planSeed(
  manifest: Manifest,
  existing: ReadonlySet<string>,
  input: ReadonlyMap<string, SecretValue> & { readonly empty?: ReadonlyMap<string, unknown> },
  options: { generate: boolean },
): SeedPlanEntry[] {
  const plan: SeedPlanEntry[] = [];
  const decide = (name: string, listed: boolean, canGenerate: boolean) => {
    if (existing.has(name)) {
      plan.push({ name, action: "keep", listed, ...(input.has(name) && { inputIgnored: true }) });
    } else if (input.has(name)) {
      plan.push({ name, action: "import", listed });
    } else {
      plan.push({ name, action: options.generate && canGenerate ? "generate" : "missing", listed });
    }
  };
  for (const [name, spec] of manifest.secrets) decide(name, true, spec.generator.kind !== "none");
  for (const name of input.keys()) {
    if (!manifest.secrets.has(name)) decide(name, false, false);
  }
  for (const name of input.empty?.keys() ?? []) {
    if (!manifest.secrets.has(name)) decide(name, false, true);
  }
  return plan;
}

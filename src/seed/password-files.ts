/**
 * Deployers' passwords files written back from the store, the inverse of seed inputs:
 *
 * - `kolla`: kolla-ansible's passwords.yml as kolla-genpwd writes it (`yaml.safe_dump`, block
 *   style, keys sorted as safe_dump sorts them): every template key (null when the store has no
 *   value, as kolla leaves docker_registry_password) and every other kolla-style (lower-case)
 *   name the store holds. A key the store lacks takes its TripleO counterpart's value (the name
 *   map), so a TripleO deployment writes a kolla file on migration.
 * - `tripleo`: overcloud-passwords.yaml, `parameter_defaults:` with every other stored name.
 * - `osp-secret`: RHOSO's Kubernetes Secret, each key copied from its TripleO parameter (or its
 *   kolla key, from a kolla deployment).
 *
 * Which name each kolla or osp-secret key takes its value from is config/password-keys.ts's.
 *
 * Problems with an existing file name its file and line, never a value.
 */
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, type Node, stringify } from "yaml";
import { KOLLA_BLANK_KEYS, type KollaPasswordKey } from "../config/kolla-passwords.js";
import { KOLLA_STYLE, passwordKeySources } from "../config/password-keys.js";
import type { SecretValue } from "../config/secret-value.js";
import { formatProblems, type Problem, sortProblems, YamlSource } from "../config/yaml-source.js";
import { ERRORS } from "../lib/errors.js";

export const PASSWORD_FILE_FORMATS = ["kolla", "tripleo", "osp-secret"] as const;
export type PasswordFileFormat = (typeof PASSWORD_FILE_FORMATS)[number];

export const OSP_SECRET_NAME = "osp-secret";

export interface RenderedPasswords {
  text: string;
  /** The keys written with a value. */
  written: string[];
  /** The format's keys the store has no value for (left null, or left out). */
  missing: string[];
}

/** Every key the format writes, in file order, with its value (null: none in the store). */
export function passwordEntries(
  format: PasswordFileFormat,
  values: ReadonlyMap<string, SecretValue>,
): Map<string, SecretValue | null> {
  const entries = new Map<string, SecretValue | null>();
  if (format === "tripleo") {
    for (const name of [...values.keys()].filter((n) => !KOLLA_STYLE.test(n)).sort()) {
      entries.set(name, values.get(name)!);
    }
    return entries;
  }
  for (const [key, source] of passwordKeySources(format, new Set(values.keys()))) {
    const value = source === undefined ? null : values.get(source)!;
    // A Secret's keys hold strings: a map value is left out as if there were none.
    entries.set(key, format === "osp-secret" && typeof value !== "string" ? null : value);
  }
  return entries;
}

export function renderPasswordFile(
  format: PasswordFileFormat,
  values: ReadonlyMap<string, SecretValue>,
): RenderedPasswords {
  const entries = passwordEntries(format, values);
  const written = [...entries].filter(([, v]) => v !== null).map(([k]) => k);
  const missing = [...entries]
    .filter(([k, v]) => v === null && !KOLLA_BLANK_KEYS.has(k as KollaPasswordKey))
    .map(([k]) => k);
  const object =
    format === "kolla"
      ? Object.fromEntries(entries)
      : format === "tripleo"
        ? { parameter_defaults: Object.fromEntries(entries) }
        : ospSecret(
            new Map(
              written.map((k) => [k, Buffer.from(entries.get(k) as string).toString("base64")]),
            ),
          );
  return { text: dump(object), written, missing };
}

function ospSecret(data: ReadonlyMap<string, string>) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: OSP_SECRET_NAME },
    type: "Opaque",
    data: Object.fromEntries(data),
  };
}

/** safe_dump's shape: block style; no folding, so a value is one line or one literal block. */
const dump = (value: unknown): string => stringify(value, { lineWidth: 0, nullStr: "null" });

const inputError = (problems: Problem[]) =>
  ERRORS.STRONGROOM_ERR_PASSWORDS_INPUT(formatProblems(sortProblems(problems)));

function parseMap(text: string, file: string, what: string) {
  const source = new YamlSource(text, file);
  const syntax = source.syntaxProblems();
  if (syntax.length > 0) throw inputError(syntax);
  const root = source.doc.contents;
  if (!isMap(root)) throw inputError([source.problemAtNode(root, `${file} must be ${what}`)]);
  return { source, root };
}

/**
 * `existing` (a kolla passwords.yml) with the store's values, like kolla-mergepwd with the store
 * as the old file: a key the store has no value for keeps the file's; kolla-style names the file
 * lacks are added at its end. Only the text of each changed `key: value` is replaced, so every
 * comment, blank line and the key order stay as they were.
 */
export function mergeKollaPasswords(
  existing: string,
  file: string,
  values: ReadonlyMap<string, SecretValue>,
): RenderedPasswords {
  const { root } = parseMap(existing, file, "a kolla passwords.yml map");
  const entries = passwordEntries("kolla", values);
  const written: string[] = [];
  const missing: string[] = [];
  const edits: Array<{ start: number; end: number; text: string }> = [];
  for (const pair of root.items) {
    const keyNode = pair.key as Node;
    const key = isScalar(keyNode) ? String(keyNode.value) : "";
    const value = entries.get(key);
    entries.delete(key);
    if (value === null || value === undefined) {
      const blank = isEmptyNode(pair.value as Node | null);
      if (blank && value === null && !KOLLA_BLANK_KEYS.has(key as KollaPasswordKey)) {
        missing.push(key);
      }
      continue;
    }
    let end = valueEnd(pair.value as Node | null) ?? keyNode.range![2];
    while (end > 0 && /\s/.test(existing[end - 1]!)) end--;
    edits.push({ start: keyNode.range![0], end, text: dumpPair(key, value) });
    written.push(key);
  }
  let text = existing;
  for (const { start, end, text: replacement } of edits.reverse()) {
    text = text.slice(0, start) + replacement + text.slice(end);
  }
  const added = [...entries].filter(([, v]) => v !== null);
  if (added.length > 0) {
    text = `${text.replace(/\n*$/, "\n")}${added.map(([k, v]) => `${dumpPair(k, v!)}\n`).join("")}`;
    written.push(...added.map(([k]) => k));
  }
  return { text, written, missing };
}

/** `key: value` as one entry of a top-level map, without its final line break. */
const dumpPair = (key: string, value: SecretValue): string =>
  dump({ [key]: value }).replace(/\n$/, "");

/** Where a value's own text ends: a map's range runs on over the comments after it. */
function valueEnd(node: Node | null): number | undefined {
  if (isMap(node) && node.items.length > 0) {
    const last = node.items.at(-1)!;
    return valueEnd(last.value as Node | null) ?? (last.key as Node).range![2];
  }
  return node?.range?.[1];
}

const isEmptyNode = (node: Node | null): boolean =>
  node === null || (isScalar(node) && (node.value === null || node.value === ""));

export interface SecretDiff {
  /** In both, with different values. */
  differs: string[];
  /** Written by strongroom, absent from the existing Secret. */
  missing: string[];
  /** In the existing Secret, not written by strongroom (no TripleO value for it). */
  extra: string[];
  same: number;
}

/** Compares an existing osp-secret YAML with the one the store gives: names only. */
export function diffOspSecret(
  existing: string,
  file: string,
  values: ReadonlyMap<string, SecretValue>,
): SecretDiff {
  const theirs = readSecretData(existing, file);
  const ours = new Map(
    [...passwordEntries("osp-secret", values)].filter(
      (entry): entry is [string, string] => entry[1] !== null,
    ),
  );
  const diff: SecretDiff = { differs: [], missing: [], extra: [], same: 0 };
  for (const [key, value] of ours) {
    const their = theirs.get(key);
    if (their === undefined) diff.missing.push(key);
    else if (!isDeepStrictEqual(their, value)) diff.differs.push(key);
    else diff.same++;
  }
  diff.extra = [...theirs.keys()].filter((k) => !ours.has(k)).sort();
  return diff;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A Secret's decoded `data` merged with its `stringData` (which wins, as in Kubernetes). */
function readSecretData(text: string, file: string): Map<string, string> {
  const { source, root } = parseMap(text, file, "a Kubernetes Secret");
  const problems: Problem[] = [];
  const kind = root.get("kind", true) as Node | undefined;
  if (!isScalar(kind) || kind.value !== "Secret") {
    problems.push(source.problemAtNode(kind ?? root, "kind must be Secret"));
  }
  const data = new Map<string, string>();
  for (const field of ["data", "stringData"] as const) {
    const section = root.get(field, true) as Node | undefined;
    if (section === undefined || (isScalar(section) && section.value === null)) continue;
    if (!isMap(section)) {
      problems.push(source.problemAtNode(section, `${field} must be a map`));
      continue;
    }
    for (const pair of section.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      const value = isScalar(pair.value) ? pair.value.value : undefined;
      const at = (reason: string) => source.problemAtNode(pair.key as Node, reason);
      if (typeof value !== "string") problems.push(at(`${field}.${key} must be a string`));
      else if (field === "stringData") data.set(key, value);
      else if (!BASE64.test(value.replace(/\s/g, "")))
        problems.push(at(`data.${key} is not base64`));
      else data.set(key, Buffer.from(value, "base64").toString("utf8"));
    }
  }
  if (problems.length > 0) throw inputError(problems);
  return data;
}

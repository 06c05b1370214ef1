import { readFileSync } from "node:fs";
import { ERRORS, StrongroomError } from "../lib/errors.js";
import { ManifestBuilder } from "./manifest-builder.js";
import { ManifestSchema, type RawManifest } from "./manifest-schema.js";
import { isRecord, schemaProblems, stanzaProblems } from "./manifest-shape.js";
import type { Manifest, OptionSpec } from "./manifest-types.js";
import { referencesIn, type Template } from "./template.js";
import { formatProblems, type Problem, sortProblems, YamlSource } from "./yaml-source.js";

export type { GeneratorSpec, OptionType } from "./manifest-schema.js";
export type * from "./manifest-types.js";
export type { Problem } from "./yaml-source.js";

/** A manifest that cannot be used: STRONGROOM_ERR_CONFIG, each problem with its file and line. */
export class ManifestError extends StrongroomError {
  constructor(readonly problems: readonly Problem[]) {
    super(ERRORS.STRONGROOM_ERR_CONFIG.code, formatProblems(problems));
    this.name = "ManifestError";
  }
}

export function loadManifest(file: string): Manifest {
  return parseManifest(readManifestText(file), file);
}

/** The manifest file's text (for callers that also keep it, e.g. in Vault). */
export function readManifestText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ManifestError([
      { file, line: 1, col: 1, reason: `cannot read the manifest (${code})` },
    ]);
  }
}

export function parseManifest(text: string, file: string): Manifest {
  const source = new YamlSource(text, file);
  const fail = (problems: Problem[]) => new ManifestError(sortProblems(problems));

  const syntax = source.syntaxProblems();
  if (syntax.length > 0) throw fail(syntax);
  let raw: unknown;
  try {
    raw = source.doc.toJS();
  } catch {
    // yaml refuses aliases that expand too far (a "billion laughs" document).
    throw fail([source.problemAt([], "aliases expand too far")]);
  }
  if (raw === null || raw === undefined) {
    throw fail([source.problemAt([], "the manifest is empty")]);
  }
  expandShorthands(raw);

  const shape = [
    ...schemaProblems(source, ManifestSchema, raw, []),
    ...stanzaProblems(source, raw),
  ];
  if (shape.length > 0) throw fail(shape);

  const builder = new ManifestBuilder(source, raw as RawManifest);
  const manifest = builder.build();
  if (builder.problems.length > 0) throw fail(builder.problems);
  return manifest;
}

/** Services whose templates or files use `secretName` (sorted): exactly what a rotation restarts. */
export function consumersOf(manifest: Manifest, secretName: string): string[] {
  return [...manifest.services.keys()]
    .filter((service) => secretsReferencedBy(manifest, service).includes(secretName))
    .sort();
}

/** Secrets the templates and files of `service` use (sorted): exactly what its policy grants. */
export function secretsReferencedBy(manifest: Manifest, service: string): string[] {
  const spec = manifest.services.get(service);
  if (!spec) return [];
  const names = new Set<string>(spec.files.map((file) => file.secret));
  for (const group of spec.options.values()) {
    for (const option of group.values()) {
      for (const template of templatesOf(option)) {
        for (const name of referencesIn(template, "secret")) names.add(name);
      }
    }
  }
  return [...names].sort();
}

export const templatesOf = (option: OptionSpec): readonly Template[] =>
  option.value === undefined
    ? []
    : Array.isArray(option.value)
      ? option.value
      : [option.value as Template];

/** Shorthands, expanded before validation (errors then point at the written value):
 * `Name:` / `Name: {}` for a secret, `generator: fernet`, `option: "{{ template }}"`. */
function expandShorthands(raw: unknown): void {
  if (!isRecord(raw)) return;
  if (isRecord(raw.secrets)) {
    for (const [name, spec] of Object.entries(raw.secrets)) {
      if (spec === null) raw.secrets[name] = {};
      else if (isRecord(spec) && typeof spec.generator === "string") {
        spec.generator = { kind: spec.generator };
      }
    }
  }
  if (isRecord(raw.services)) {
    for (const [name, service] of Object.entries(raw.services)) {
      if (service === null) raw.services[name] = {};
      if (!isRecord(service) || !isRecord(service.options)) continue;
      for (const group of Object.values(service.options)) {
        if (!isRecord(group)) continue;
        for (const [option, spec] of Object.entries(group)) {
          if (typeof spec === "string") group[option] = { value: spec };
        }
      }
    }
  }
}

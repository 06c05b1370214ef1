/**
 * The name map TripleO ⇄ kolla ⇄ RHOSO (password-names.json), loaded and checked once: the
 * same credential under TripleO's parameter name, kolla-ansible's passwords.yml keys and the key
 * of RHOSO's `osp-secret`. The RHOSO keys are in osp-secret's order; where kolla has several keys
 * for one RHOSO key, the service's Keystone password comes first (password-keys.ts takes it).
 */
import Type, { type Static } from "typebox";
import Value from "typebox/value";
import { isKollaKey } from "./kolla-passwords.js";
import data from "./password-names.json" with { type: "json" };
import { isTripleoParameter, type TripleoParameterName } from "./tripleo-parameters.js";

const Entry = Type.Object(
  {
    tripleo: Type.Optional(Type.String()),
    kolla: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
    rhoso: Type.Optional(Type.String()),
    why: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
const NameMapSchema = Type.Object({
  $comment: Type.Optional(Type.String()),
  names: Type.Array(Entry),
});

const KEYSTONE_PASSWORD_SUFFIX = "_keystone_password";

export interface PasswordNames {
  tripleo?: TripleoParameterName;
  kolla: readonly string[];
  rhoso?: string;
  /** Why there is no TripleO counterpart. */
  why?: string;
}

/** Throws on a malformed map: a build carrying one must not start. */
export function loadPasswordNames(raw: unknown): readonly PasswordNames[] {
  if (!Value.Check(NameMapSchema, raw)) {
    const [first] = Value.Errors(NameMapSchema, raw);
    throw new Error(`password-names.json: ${first?.instancePath} ${first?.message}`);
  }
  const entries = (raw as Static<typeof NameMapSchema>).names;
  const problems: string[] = [];
  const rhoso = new Set<string>();
  const kolla = new Set<string>();
  for (const [i, entry] of entries.entries()) {
    const where = `names[${i}]`;
    if (entry.tripleo !== undefined && !isTripleoParameter(entry.tripleo)) {
      problems.push(`${where}: ${entry.tripleo} is not a TripleO password parameter`);
    }
    if (entry.tripleo === undefined && entry.why === undefined) {
      problems.push(`${where}: no tripleo name and no "why"`);
    }
    for (const key of entry.kolla ?? []) {
      if (!isKollaKey(key)) problems.push(`${where}: ${key} is not a kolla passwords.yml key`);
      if (kolla.has(key)) problems.push(`${where}: kolla key ${key} is mapped twice`);
      kolla.add(key);
    }
    if (entry.rhoso !== undefined) {
      if (rhoso.has(entry.rhoso)) problems.push(`${where}: RHOSO key ${entry.rhoso} twice`);
      rhoso.add(entry.rhoso);
      // RHOSO's service password is the Keystone one: a kolla store's osp-secret takes kolla[0].
      const [first, ...more] = entry.kolla ?? [];
      if (more.length > 0 && !first!.endsWith(KEYSTONE_PASSWORD_SUFFIX)) {
        problems.push(
          `${where}: ${entry.rhoso}'s first kolla key must be a *${KEYSTONE_PASSWORD_SUFFIX}`,
        );
      }
    }
  }
  if (problems.length > 0) throw new Error(`password-names.json: ${problems.join("; ")}`);
  return entries.map((entry) => ({
    ...entry,
    tripleo: entry.tripleo as TripleoParameterName | undefined,
    kolla: entry.kolla ?? [],
  }));
}

export const PASSWORD_NAMES: readonly PasswordNames[] = loadPasswordNames(data);

/** RHOSO's osp-secret keys, each with the TripleO parameter it is copied from (if any). */
export const RHOSO_KEYS: readonly PasswordNames[] = PASSWORD_NAMES.filter((e) => e.rhoso);

/** The TripleO parameter a kolla key takes its value from on a TripleO → kolla migration. */
export const TRIPLEO_OF_KOLLA: ReadonlyMap<string, TripleoParameterName> = new Map(
  PASSWORD_NAMES.flatMap((e) => (e.tripleo ? e.kolla.map((k) => [k, e.tripleo!] as const) : [])),
);

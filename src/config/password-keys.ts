/**
 * The keys of a deployer's keyed passwords format and the name each takes its value from, for
 * whichever names a store (or a manifest) holds. One derivation for `strongroom passwords`
 * (src/seed/password-files.ts) and for the `format:` preset of a manifest's sinks.
 *
 * - `kolla`: every key of kolla's passwords.yml plus every other kolla-style name held, sorted;
 *   each from the same name, else the name kolla renamed it from, else its TripleO counterpart.
 *   The renamed-from names are not keys of their own (kolla-mergepwd writes the new one only).
 * - `osp-secret`: RHOSO's keys in osp-secret's order; each from its TripleO parameter, else the
 *   RHOSO name itself, else its kolla key (where kolla has several, the service's Keystone
 *   password, which RHOSO's service password is; password-names.ts checks it comes first).
 */
import {
  KOLLA_PASSWORD_KEYS,
  KOLLA_RENAMED_KEYS,
  type KollaPasswordKey,
} from "./kolla-passwords.js";
import { RHOSO_KEYS, TRIPLEO_OF_KOLLA } from "./password-names.js";

export const KEYED_PASSWORD_FORMATS = ["kolla", "osp-secret"] as const;
export type KeyedPasswordFormat = (typeof KEYED_PASSWORD_FORMATS)[number];

export const isKeyedPasswordFormat = (format: string): format is KeyedPasswordFormat =>
  (KEYED_PASSWORD_FORMATS as readonly string[]).includes(format);

/** kolla's names are lower-case snake case; TripleO's are CamelCase. */
export const KOLLA_STYLE = /^[a-z][a-z0-9_]*$/;

/** The names a format's keys are taken from, for people (e.g. when a manifest has none). */
export const KEY_SOURCES: Record<KeyedPasswordFormat, string> = {
  kolla:
    "kolla passwords.yml keys (e.g. database_password), other lower-case names, or TripleO parameters with a kolla counterpart (e.g. MysqlRootPassword)",
  "osp-secret":
    "TripleO parameters (e.g. MysqlRootPassword for DbRootPassword), osp-secret keys themselves, or kolla keys (e.g. keystone_admin_password for AdminPassword)",
};

/** Every key of `format` in its order, with the held name its value comes from (undefined: none). */
export function passwordKeySources(
  format: KeyedPasswordFormat,
  held: ReadonlySet<string>,
): Map<string, string | undefined> {
  const first = (...names: Array<string | undefined>) =>
    names.find((name) => name !== undefined && held.has(name));
  const sources = new Map<string, string | undefined>();
  if (format === "kolla") {
    const extra = [...held].filter((name) => KOLLA_STYLE.test(name));
    for (const key of new Set([...KOLLA_PASSWORD_KEYS, ...extra].sort())) {
      sources.set(
        key,
        first(key, KOLLA_RENAMED_KEYS.get(key as KollaPasswordKey), TRIPLEO_OF_KOLLA.get(key)),
      );
    }
    for (const old of KOLLA_RENAMED_KEYS.values()) sources.delete(old);
  } else {
    for (const { rhoso, tripleo, kolla } of RHOSO_KEYS) {
      sources.set(rhoso!, first(tripleo, rhoso, kolla[0]));
    }
  }
  return sources;
}

/**
 * Option resolution, in oslo.config's order: the given sources (environment, INI overrides,
 * the manifest through castellan, ...) and then the option's default. Results are cached;
 * `invalidate` drops the options that depend on the named secrets (or everything) and must
 * be called after every write.
 */
import type { ConfigSource, KeyManager } from "../../drivers/types.js";
import type { Manifest, OptionSpec } from "../config/manifest.js";
import { manifestOptions, secretsOfOption } from "../config/option-templates.js";
import { parseOptionValue } from "../config/oslo-types.js";
import { ERRORS } from "../lib/errors.js";
import type { ResolvedOption } from "./broker-service.js";

export interface ResolvedEntry {
  option: ResolvedOption;
  /** The raw string form of each occurrence (one unless multi_string); undefined when unset. */
  raw: readonly string[] | undefined;
  /** The secrets the option's templates reference. */
  secrets: readonly string[];
  /** The version of each secret the value was rendered from (none when another source answered). */
  versions: Readonly<Record<string, number>>;
}

export interface OptionResolver {
  resolve(service: string, group: string, option: string): Promise<ResolvedEntry>;
  /** The cached entry once its resolution has finished; undefined before, or after invalidation. */
  cached(service: string, group: string, option: string): ResolvedEntry | undefined;
  /** Drops cached options that reference any of `secretNames`; everything when omitted. */
  invalidate(secretNames?: Iterable<string>): void;
}

export interface ResolverOptions {
  manifest: Manifest;
  keyManager: KeyManager;
  /** Consulted in order; the first answer wins. */
  sources: readonly ConfigSource[];
}

const UNSET = { source: "none", detail: "" } as const;

export const unknownOption = (service: string, group: string, option: string) =>
  ERRORS.STRONGROOM_ERR_UNKNOWN_OPTION(`${service} has no option [${group}] ${option}`);

/** Manifest defaults are in oslo's string form; a multi_string's list was comma-joined. */
const defaultValues = (spec: OptionSpec): string[] | undefined =>
  spec.default === undefined
    ? undefined
    : spec.type === "multi_string"
      ? spec.default.split(",")
      : [spec.default];

export function createResolver(options: ResolverOptions): OptionResolver {
  const { manifest, keyManager, sources } = options;
  const cache = new Map<string, Promise<ResolvedEntry>>();
  // The same entries once settled, so a cache hit needs no promise hop.
  const settled = new Map<string, ResolvedEntry>();
  const dependents = new Map<string, Set<string>>();
  for (const { service, group, option, spec } of manifestOptions(manifest)) {
    for (const secret of secretsOfOption(spec)) {
      const set = dependents.get(secret) ?? new Set();
      set.add(cacheKey(service, group, option));
      dependents.set(secret, set);
    }
  }

  async function versionsOf(secrets: readonly string[]): Promise<Record<string, number>> {
    const stored = await Promise.all(secrets.map((name) => keyManager.get(name)));
    return Object.fromEntries(secrets.map((name, i) => [name, stored[i]?.version ?? 0]));
  }

  async function compute(service: string, group: string, option: string): Promise<ResolvedEntry> {
    const spec = manifest.services.get(service)?.options.get(group)?.get(option);
    if (!spec) throw unknownOption(service, group, option);
    const secrets = secretsOfOption(spec);
    let raw: readonly string[] | undefined;
    let location: ResolvedOption["location"] = UNSET;
    let known: number | undefined;
    let versions: Readonly<Record<string, number>> = {};
    for (const source of sources) {
      const answer = await source.lookup(service, group, option);
      if (answer) {
        raw = answer.values ?? [answer.raw];
        location = answer.location;
        known = answer.version;
        versions = answer.versions ?? {};
        break;
      }
    }
    if (raw === undefined) {
      raw = defaultValues(spec);
      if (raw) location = { source: "default", detail: "manifest" };
    }
    // The option's version follows its secrets whichever source answered.
    if (known === undefined) {
      known = Math.max(0, ...Object.values(await versionsOf(secrets)));
    }
    const value =
      raw === undefined ? null : parseOptionValue(spec.type, raw, { service, group, option });
    return {
      option: {
        group,
        option,
        value,
        type: spec.type,
        secret: spec.secret,
        location,
        version: known,
      },
      raw,
      secrets,
      versions,
    };
  }

  return {
    resolve(service, group, option) {
      const key = cacheKey(service, group, option);
      const cached = cache.get(key);
      if (cached) return cached;
      const pending = compute(service, group, option);
      cache.set(key, pending);
      // Only if no invalidation came in between: then the entry is still current.
      pending.then(
        (entry) => {
          if (cache.get(key) === pending) settled.set(key, entry);
        },
        () => {
          if (cache.get(key) === pending) cache.delete(key);
        },
      );
      return pending;
    },
    cached(service, group, option) {
      return settled.get(cacheKey(service, group, option));
    },
    invalidate(secretNames) {
      if (secretNames === undefined) {
        cache.clear();
        settled.clear();
        return;
      }
      for (const name of secretNames) {
        for (const key of dependents.get(name) ?? []) {
          cache.delete(key);
          settled.delete(key);
        }
      }
    },
  };
}

function cacheKey(service: string, group: string, option: string): string {
  return `${service}\u0000${group}\u0000${option}`;
}

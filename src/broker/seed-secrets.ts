/**
 * Seeding, all or nothing: every new secret is written with cas 0 (never overwriting one that
 * appeared meanwhile); if any write fails, the secrets written in this run are destroyed and
 * the error is rethrown, so the store is as it was. A crash cannot run that rollback: the seed
 * journal (seed-journal.ts) names the secrets being created, and the next `up` or `seed` removes
 * those of a seed that did not finish. Existing secrets are kept, so running the same seed again
 * writes nothing; an input value that is not the stored one is reported as `differs` (kept).
 * Reports carry names and actions, never values.
 */
import { isDeepStrictEqual } from "node:util";
import type { KeyManager, SecretValue } from "../../drivers/types.js";
import type { Manifest } from "../config/manifest.js";
import { mapLimit } from "../lib/concurrency.js";
import { ERRORS, usageError } from "../lib/errors.js";
import { generateValue } from "../seed/generators.js";
import { parseSeedInput, planSeed, SEED_FORMATS, type SeedFormat } from "../seed/inputs.js";
import type { SeedRecovery, SeedReport } from "./broker-service.js";
import type { SeedJournal } from "./seed-journal.js";

export interface SeedRequest {
  text: string;
  file: string;
  format?: string;
  generate: boolean;
  dryRun: boolean;
  /** Refuse names the input's format does not know (seed/inputs.ts SeedOptions). */
  strict?: boolean;
}

export interface SeedDeps {
  manifest: Manifest;
  keyManager: KeyManager;
  /** Throws when a value could not reach its consumers intact. */
  checkDeliverable(values: ReadonlyMap<string, SecretValue>): Promise<void>;
  /** Runs after the writes (cache invalidation, rendered records); a failure rolls back too. */
  afterWrite(names: readonly string[]): Promise<void>;
  /** Where a seed in progress is recorded; without one a crash mid-seed is not undone. */
  journal?: SeedJournal;
  /** Called after each secret written (a test composition crashes here). */
  afterSecretWritten?: (written: number) => void;
}

/** Vault-compatible servers batch concurrent writes (group commit): 128 in flight seeds 10,000
 * secrets about a third faster than 64, and several times faster than 8. */
const WRITE_CONCURRENCY = 128;
const READ_CONCURRENCY = 64;

function parseInput(request: SeedRequest) {
  if (
    request.format !== undefined &&
    !(SEED_FORMATS as readonly string[]).includes(request.format)
  ) {
    throw usageError(`unknown seed format "${request.format}" (known: ${SEED_FORMATS.join(", ")})`);
  }
  return parseSeedInput(request.text, request.file, request.format as SeedFormat | undefined, {
    strict: request.strict === true,
  });
}

export async function seedSecrets(deps: SeedDeps, request: SeedRequest): Promise<SeedReport> {
  const { manifest, keyManager } = deps;
  const input = parseInput(request);
  // A dry run writes nothing, not even a rollback: it plans against the store as it is.
  const recovered = request.dryRun ? undefined : await recoverSeed(deps);
  const report = (entries: SeedReport["entries"], written: number): SeedReport => ({
    dryRun: request.dryRun,
    entries,
    written,
    ...(recovered && { recovered }),
  });
  const existing = new Set(await keyManager.list());
  const plan = planSeed(manifest, existing, input, { generate: request.generate });
  const differing = await differingNames(
    keyManager,
    plan.filter((entry) => entry.inputIgnored).map((entry) => entry.name),
    input,
  );
  const entries = plan.map(({ name, action }) => ({
    name,
    action: differing.has(name) ? ("differs" as const) : action,
  }));
  if (request.dryRun) return report(entries, 0);

  const values = new Map<string, SecretValue>();
  for (const { name, action } of plan) {
    if (action === "import") values.set(name, input.get(name)!);
  }
  // All at once: RSA key pairs are generated off the main thread, several in parallel.
  const generating = plan.filter((entry) => entry.action === "generate").map(({ name }) => name);
  const generated = await Promise.all(
    generating.map((name) =>
      generateValue(manifest.secrets.get(name)?.generator ?? input.empty.get(name)!),
    ),
  );
  generating.forEach((name, i) => {
    const value = generated[i];
    if (value !== undefined) values.set(name, value);
  });
  if (values.size === 0) return report(entries, 0);
  await deps.checkDeliverable(values);

  const journaled = await deps.journal?.begin(request.file, [...values.keys()]);
  const written: string[] = [];
  try {
    await mapLimit([...values], WRITE_CONCURRENCY, async ([name, value]) => {
      await keyManager.put(name, value, { cas: 0 });
      written.push(name);
      deps.afterSecretWritten?.(written.length);
    });
    await deps.afterWrite(written);
  } catch (error) {
    await rollBack(keyManager, written, error);
    await deps.afterWrite(written).catch(() => {});
    // Only once rolled back: a journal left behind is undone by the next up or seed.
    if (journaled) await deps.journal?.end(journaled);
    throw error;
  }
  if (journaled) await deps.journal?.end(journaled);
  return report(entries, written.length);
}

/**
 * Undoes a seed that began and never ended (the broker was killed): removes every secret it
 * created that still holds only the version the seed wrote. One changed since is kept, and named.
 */
export async function recoverSeed(deps: SeedDeps): Promise<SeedRecovery | undefined> {
  const pending = await deps.journal?.pending();
  if (!pending || !deps.journal) return undefined;
  const { keyManager } = deps;
  const removed: string[] = [];
  const kept: string[] = [];
  await mapLimit(pending.names, WRITE_CONCURRENCY, async (name) => {
    const versions = await keyManager.versions(name);
    if (versions.length === 0) return;
    if (versions.length === 1 && versions[0]!.version === 1) {
      await keyManager.destroy(name);
      removed.push(name);
    } else {
      kept.push(name);
    }
  });
  await deps.afterWrite(removed);
  await deps.journal.end(pending);
  return {
    file: pending.file,
    startedAt: pending.startedAt,
    secrets: pending.secrets,
    removed: removed.length,
    kept: kept.sort(),
  };
}

/** The names whose input value is not the stored one (compared here, never reported). */
async function differingNames(
  keyManager: KeyManager,
  names: readonly string[],
  input: ReadonlyMap<string, SecretValue>,
): Promise<Set<string>> {
  const differing = new Set<string>();
  await mapLimit(names, READ_CONCURRENCY, async (name) => {
    const stored = await keyManager.get(name);
    if (stored && !isDeepStrictEqual(stored.value, input.get(name))) differing.add(name);
  });
  return differing;
}

async function rollBack(
  keyManager: KeyManager,
  written: readonly string[],
  cause: unknown,
): Promise<void> {
  const failed: string[] = [];
  await mapLimit(written, WRITE_CONCURRENCY, async (name) => {
    try {
      await keyManager.destroy(name);
    } catch {
      failed.push(name);
    }
  });
  if (failed.length > 0) {
    throw ERRORS.STRONGROOM_ERR_SEED_ROLLBACK(
      `seeding failed and ${failed.length} of the ${written.length} secrets written could not be removed: ${failed.sort().join(", ")}`,
      { cause },
    );
  }
}

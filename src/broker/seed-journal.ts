/**
 * The journal that makes a seed all-or-nothing across a crash. Before the first secret is
 * written, the names the seed will create are stored beside the secrets (`seed/names/<n>`, in
 * parts small enough for any Vault's request limit), then the journal head (`seed/journal`) with
 * check-and-set 0: only one seed runs at a time. The head is removed once every secret is written
 * and the rendered records follow them. A head found later is a seed that did not finish: its
 * secrets are removed (seed-secrets.ts recoverSeed), the next `up` or `seed` does it.
 */
import { mapLimit } from "../lib/concurrency.js";
import { ERRORS } from "../lib/errors.js";
import { DEPLOYMENT_KEYS } from "../vault/kv-layout.js";
import type { RecordStore } from "../vault/record-store.js";

/** 1,000 names of at most 100 characters: ~100 KiB per record. */
const NAMES_PER_PART = 1000;
const CONCURRENCY = 16;

export interface SeedJournalHead {
  file: string;
  startedAt: string;
  secrets: number;
  parts: number;
}

export interface PendingSeed extends SeedJournalHead {
  /** The secrets the seed was creating (none of them existed before it). */
  names: string[];
}

export interface SeedJournal {
  /** Records the names, then the head; fails if another seed's head is there. */
  begin(file: string, names: readonly string[]): Promise<SeedJournalHead>;
  /** The seed that began and did not end, if any. */
  pending(): Promise<PendingSeed | undefined>;
  /** Removes the head (the seed is over), then the name parts. */
  end(seed: SeedJournalHead): Promise<void>;
}

export function createSeedJournal(records: RecordStore): SeedJournal {
  const head = DEPLOYMENT_KEYS.seedJournal;
  const partPath = DEPLOYMENT_KEYS.seedJournalNames;
  const invalid = () =>
    ERRORS.STRONGROOM_ERR_STATE(
      `${records.prefix}/${head} is not a seed journal: remove it once no seed is running`,
    );

  return {
    async begin(file, names) {
      const parts: string[][] = [];
      for (let i = 0; i < names.length; i += NAMES_PER_PART) {
        parts.push(names.slice(i, i + NAMES_PER_PART));
      }
      await mapLimit([...parts.entries()], CONCURRENCY, ([index, part]) =>
        records.write(partPath(index), { names: part }),
      );
      const entry: SeedJournalHead = {
        file,
        startedAt: new Date().toISOString(),
        secrets: names.length,
        parts: parts.length,
      };
      try {
        await records.write(head, { ...entry }, 0);
      } catch (error) {
        if (!ERRORS.STRONGROOM_ERR_CAS_MISMATCH.is(error)) throw error;
        throw ERRORS.STRONGROOM_ERR_CAS_MISMATCH(
          "another seed is in progress (or did not finish: restart strongroom up to roll it back)",
        );
      }
      return entry;
    },

    async pending() {
      const found = await records.read(head);
      if (!found) return undefined;
      const { file, startedAt, secrets, parts } = found;
      if (
        typeof file !== "string" ||
        typeof startedAt !== "string" ||
        !Number.isSafeInteger(secrets) ||
        !Number.isSafeInteger(parts)
      ) {
        throw invalid();
      }
      const chunks = await mapLimit(
        Array.from({ length: parts as number }, (_, index) => index),
        CONCURRENCY,
        async (index) => (await records.read(partPath(index)))?.["names"],
      );
      const names = chunks.flatMap((chunk) => (Array.isArray(chunk) ? chunk : [undefined]));
      if (names.length !== secrets || names.some((name) => typeof name !== "string")) {
        throw invalid();
      }
      return { file, startedAt, secrets: secrets as number, parts: parts as number, names };
    },

    async end(seed) {
      await records.remove(head);
      await mapLimit(
        Array.from({ length: seed.parts }, (_, index) => index),
        CONCURRENCY,
        (index) => records.remove(partPath(index)),
      );
    },
  };
}

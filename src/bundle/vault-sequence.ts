/**
 * The bundle sequence of `serve` replicas: they share one signer key and keep no files, so the
 * counter is one KV v2 entry of the deployment (DEPLOYMENT_KEYS.bundleSequence). A draw reads it
 * and writes the next number with check-and-set on the version it read: of two replicas drawing
 * at once, one write fails, and that replica reads again and draws above the winner. So no two
 * replicas sign with one number, and the number is stored before the bundle is written. The
 * clock is the floor, as for `up`'s counter file (export-sequence.ts).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ERRORS } from "../lib/errors.js";
import { DEPLOYMENT_KEYS } from "../vault/kv-layout.js";
import { casMismatchError } from "../vault/kv-v2.js";
import type { RecordStore } from "../vault/record-store.js";
import { type NextSequence, sequenceAfter } from "./export-sequence.js";
import { isSequence } from "./format.js";

/** Draws lost to other replicas before an export gives up (409): far more than replicas race. */
export const SEQUENCE_DRAW_ATTEMPTS = 10;
/** The longest random pause before a retry, per attempt made: keeps the losers apart. */
const RETRY_JITTER_MS = 5;

export interface VaultSequenceOptions {
  now?: () => number;
  attempts?: number;
}

export function vaultSequence(
  records: RecordStore,
  options: VaultSequenceOptions = {},
): NextSequence {
  const key = DEPLOYMENT_KEYS.bundleSequence;
  const now = options.now ?? Date.now;
  const attempts = options.attempts ?? SEQUENCE_DRAW_ATTEMPTS;

  const draw = async (): Promise<number> => {
    for (let attempt = 1; ; attempt++) {
      const found = await records.readVersioned(key);
      const stored = found ? storedSequence(found.data.sequence, `${records.prefix}/${key}`) : 0;
      const next = sequenceAfter(stored, now());
      try {
        await records.write(key, { sequence: next }, found?.version ?? 0);
        return next;
      } catch (error) {
        if (!ERRORS.STRONGROOM_ERR_CAS_MISMATCH.is(error)) throw error;
        if (attempt >= attempts) {
          throw casMismatchError(
            `${records.prefix}/${key} (the bundle sequence, ${attempts} draws lost to other replicas)`,
            error,
          );
        }
      }
      await sleep(Math.random() * RETRY_JITTER_MS * attempt);
    }
  };

  // One draw at a time in this replica: its own exports never race each other for the entry.
  let last: Promise<unknown> = Promise.resolve();
  return () => {
    const drawn = last.then(draw);
    last = drawn.catch(() => {});
    return drawn;
  };
}

function storedSequence(value: unknown, path: string): number {
  if (!isSequence(value)) {
    throw ERRORS.STRONGROOM_ERR_VAULT(`${path} does not hold a bundle sequence number`);
  }
  return value;
}

/**
 * The sequence number of the bundles this broker signs (docs/bundle-format.md §3), kept beside
 * its signing key. It is stored before the bundle is written, so a number is never used twice,
 * even across a crash. Taking the clock as a floor keeps it increasing when the counter file is
 * lost or restored from an older backup (as long as the clock is sane).
 */
import { ERRORS } from "../lib/errors.js";
import { STATE_FILES, type StateDir } from "../state/state-dir.js";
import { isSequence } from "./format.js";

/** Draws the next number; resolves once it is stored (async: serve's counter lives in Vault). */
export type NextSequence = () => Promise<number>;

/** The number drawn after `stored`: the next one, or the clock when that is ahead. */
export const sequenceAfter = (stored: number, now: number): number => Math.max(stored + 1, now);

export function signerSequence(dir: StateDir, now: () => number = Date.now): NextSequence {
  const name = STATE_FILES.bundleSequence;
  // Synchronous read and write: two exports in one broker cannot interleave and draw one number.
  return async () => {
    const stored = dir.has(name) ? parseStored(dir.readText(name).trim(), dir.file(name)) : 0;
    const next = sequenceAfter(stored, now());
    dir.write(name, `${next}\n`);
    return next;
  };
}

function parseStored(text: string, file: string): number {
  const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!isSequence(value)) {
    throw ERRORS.STRONGROOM_ERR_STATE(`${file} does not hold a bundle sequence number`);
  }
  return value;
}

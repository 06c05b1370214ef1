/**
 * The sequence number of the bundles this broker signs (docs/bundle-format.md §3), kept beside
 * its signing key. It is stored before the bundle is written, so a number is never used twice,
 * even across a crash. Taking the clock as a floor keeps it increasing when the counter file is
 * lost or restored from an older backup (as long as the clock is sane).
 */
import { ERRORS } from "../lib/errors.js";
import { STATE_FILES, type StateDir } from "../state/state-dir.js";
import { isSequence } from "./format.js";

export type NextSequence = () => number;

export function signerSequence(dir: StateDir, now: () => number = Date.now): NextSequence {
  const name = STATE_FILES.bundleSequence;
  // Synchronous read and write: two exports in one broker cannot interleave and draw one number.
  return () => {
    const stored = dir.has(name) ? parseStored(dir.readText(name).trim(), dir.file(name)) : 0;
    const next = Math.max(stored + 1, now());
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

import { randomBytes } from "node:crypto";
import {
  closeSync,
  createWriteStream,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { Writable } from "node:stream";

/**
 * Writes a 0600 file through a temporary file in the same directory, fsynced, then renamed over
 * the target, so a crash leaves either the old or the new content, never a torn file.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temporary = temporaryBeside(file);
  const fd = openSync(temporary, "wx", 0o600);
  try {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, file);
  syncDirectory(dir);
}

/**
 * writeFileAtomic for content that arrives as a stream (an export of any size): `fill` writes
 * into `sink`, the stream of a temporary 0600 file created beside `file` (exclusively: a planted
 * file or symlink cannot redirect it), and resolves once it has written everything. Only then is
 * the file fsynced, renamed over `file` and the directory fsynced, so `file` appears complete or
 * not at all. When `fill` rejects (or the disk fails), the temporary file is removed and the
 * error rethrown. The directory must exist: a mistyped path is not created.
 */
export async function writeStreamAtomic<T>(
  file: string,
  fill: (sink: Writable) => Promise<T>,
): Promise<T> {
  const temporary = temporaryBeside(file);
  const fd = openSync(temporary, "wx", 0o600);
  // The stream owns the descriptor: it fsyncs (flush) and closes it once ended or destroyed.
  const sink = createWriteStream(temporary, { fd, flush: true });
  const closed = new Promise<void>((resolve) => sink.once("close", () => resolve()));
  let diskError: Error | undefined;
  sink.on("error", (error) => {
    diskError ??= error;
  });
  try {
    const result = await fill(sink);
    if (!sink.writableEnded) sink.end();
    await closed;
    if (diskError) throw diskError;
    if (!sink.writableFinished)
      throw new Error(`${temporary}: the stream was destroyed unfinished`);
    renameSync(temporary, file);
    syncDirectory(dirname(file));
    return result;
  } catch (error) {
    sink.destroy();
    await closed;
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** fsync a directory, so a rename in it survives a crash. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A hidden, unguessable name in the target's directory (a rename never crosses file systems). */
const temporaryBeside = (file: string) =>
  join(dirname(file), `.${randomBytes(6).toString("hex")}.tmp`);

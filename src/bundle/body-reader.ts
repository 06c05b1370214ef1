/**
 * Reading a bundle's body: decrypted chunks in file order, then the records inside them. The
 * FINAL chunk must be the file's last bytes; everything is checked before the stream ends.
 */
import type { loadSodium } from "../lib/sodium.js";
import { BodyDecryptor } from "./body-cipher.js";
import { readEnvelope } from "./envelope-open.js";
import { BundleError } from "./errors.js";
import { FileSource, openBundleFile } from "./file-source.js";
import { CHUNK_LENGTH_BYTES, CHUNK_OVERHEAD_BYTES, STREAM_HEADER_BYTES } from "./format.js";
import { RecordAssembler } from "./record-framing.js";

export interface BodyContext {
  file: string;
  sodium: Awaited<ReturnType<typeof loadSodium>>;
  dataKey: Uint8Array;
  /** Of the envelope verified when the bundle was opened: the file must still carry it. */
  headerHash: Buffer;
  chunkSize: number;
}

/** Decrypted chunk plaintexts, in order; completes only once FINAL is the file's last chunk. */
export async function* plaintextChunks(body: BodyContext): AsyncGenerator<Uint8Array> {
  const { file, chunkSize } = body;
  const truncated = () => new BundleError("truncated", `${file}: the bundle is truncated`);
  const corrupt = (message: string) => new BundleError("corrupt", `${file}: ${message}`);
  const handle = await openBundleFile(file);
  try {
    const source = new FileSource(handle);
    const envelope = await readEnvelope(source, file);
    if (!envelope.headerHash.equals(body.headerHash)) {
      throw corrupt("the bundle changed since it was opened");
    }
    const streamHeader = await source.read(STREAM_HEADER_BYTES);
    if (streamHeader.length < STREAM_HEADER_BYTES) throw truncated();
    const decryptor = new BodyDecryptor(
      body.sodium,
      body.dataKey,
      Uint8Array.from(streamHeader),
      body.headerHash,
      file,
    );
    for (let index = 1; ; index++) {
      const lengthBytes = await source.read(CHUNK_LENGTH_BYTES);
      if (lengthBytes.length < CHUNK_LENGTH_BYTES) throw truncated();
      const length = new DataView(lengthBytes.buffer, lengthBytes.byteOffset).getUint32(0);
      if (length < CHUNK_OVERHEAD_BYTES || length > chunkSize + CHUNK_OVERHEAD_BYTES) {
        throw corrupt(`chunk ${index} has an impossible length`);
      }
      const cipher = await source.read(length);
      if (cipher.length < length) throw truncated();
      const { plain, final } = decryptor.open(cipher, index);
      if (final ? plain.length >= chunkSize : plain.length !== chunkSize) {
        throw corrupt(`chunk ${index} has the wrong size`);
      }
      yield plain;
      if (final) break;
    }
    if (!(await source.atEnd())) throw corrupt("unexpected bytes after the final chunk");
  } finally {
    await handle.close();
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The records, one by one. A hand-written iterator rather than an async generator: handing out
 * the records of an already decrypted chunk then costs one resolved promise, not a generator
 * round trip, which matters at ~250 bytes a record.
 */
export function readRecords(body: BodyContext): AsyncIterableIterator<Uint8Array> {
  const chunks = plaintextChunks(body);
  const assembler = new RecordAssembler(body.file);
  let finished = false;

  const stop = async (error: unknown): Promise<never> => {
    finished = true;
    await chunks.return(undefined);
    throw error;
  };
  const nextFromNewChunks = async (): Promise<IteratorResult<Uint8Array>> => {
    try {
      for (;;) {
        const chunk = await chunks.next();
        if (chunk.done) {
          finished = true;
          assembler.checkComplete();
          return DONE;
        }
        assembler.load(chunk.value);
        const record = assembler.next();
        if (record) return { done: false, value: record };
      }
    } catch (error) {
      return stop(error);
    }
  };

  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (finished) return Promise.resolve(DONE);
      try {
        const record = assembler.next();
        return record ? Promise.resolve({ done: false, value: record }) : nextFromNewChunks();
      } catch (error) {
        return stop(error);
      }
    },
    async return() {
      if (!finished) await stop(undefined).catch(() => undefined);
      return DONE;
    },
  };
}

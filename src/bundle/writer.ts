/**
 * Writes a bundle (docs/bundle-format.md) to a stream: the signed header with the data key sealed
 * to each recipient, then the records, encrypted chunk by chunk as they arrive.
 */
import type { Writable } from "node:stream";
import { loadSodium } from "../lib/sodium.js";
import { BodyEncryptor } from "./body-cipher.js";
import { type BundleHeaderInput, sealEnvelope } from "./envelope-seal.js";
import { BundleError } from "./errors.js";
import { DEFAULT_CHUNK_SIZE, isChunkSize, MAX_RECORD_BYTES } from "./format.js";
import type { BundleKeyPair, BundlePublicKey } from "./keys.js";
import { OutputSink } from "./output-sink.js";
import { RecordChunker } from "./record-framing.js";

export type { BundleHeaderInput } from "./envelope-seal.js";

export interface BundleProgress {
  records: number;
  /** Record bytes so far (not counting framing, encryption or header). */
  bytes: number;
}

export interface WriteBundleOptions {
  /** A file stream or an HTTP response. Ended once the bundle is complete unless `end: false`. */
  out: Writable;
  header: BundleHeaderInput;
  /** At least one; each can open the bundle. */
  recipients: readonly BundlePublicKey[];
  /** The exporting broker's identity: signs the header. */
  signer: BundleKeyPair;
  /** Opaque records, in order, each at most 16 MiB. */
  records: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  onProgress?: (progress: BundleProgress) => void;
  /** Plaintext bytes per chunk, 64 B to 1 MiB; default 64 KiB. */
  chunkSize?: number;
  /** Default true: end `out` and wait until it has flushed. */
  end?: boolean;
}

export interface WriteBundleResult extends BundleProgress {
  /** Fingerprints the data key was sealed to, duplicates removed. */
  recipients: string[];
  /** Hex SHA-256 of preamble + header + signature. */
  headerHash: string;
  /** Total size of the bundle. */
  bundleBytes: number;
}

/**
 * On failure the stream is left as it is, without a final chunk (so no reader accepts it): the
 * caller destroys it and removes a partial file.
 */
export async function writeBundle(options: WriteBundleOptions): Promise<WriteBundleResult> {
  const sodium = await loadSodium();
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!isChunkSize(chunkSize)) throw new BundleError("input", "bundle chunk size out of range");
  const dataKey = sodium.crypto_secretstream_xchacha20poly1305_keygen();
  const sink = new OutputSink(options.out);
  try {
    const envelope = sealEnvelope(sodium, { ...options, chunkSize, dataKey });
    const encryptor = new BodyEncryptor(sodium, dataKey, envelope.headerHash);
    await sink.write(envelope.bytes);
    await sink.write(encryptor.streamHeader);
    const progress: BundleProgress = { records: 0, bytes: 0 };
    const chunker = new RecordChunker(chunkSize);
    for await (const record of options.records) {
      if (record.length > MAX_RECORD_BYTES) {
        throw new BundleError("input", `bundle record ${progress.records + 1} is over 16 MiB`);
      }
      for (const chunk of chunker.add(record)) {
        await sink.write(encryptor.seal(chunk, false));
        options.onProgress?.({ ...progress });
      }
      progress.records += 1;
      progress.bytes += record.length;
    }
    await sink.write(encryptor.seal(chunker.remainder(), true));
    if (options.end !== false) await sink.end();
    options.onProgress?.({ ...progress });
    return {
      ...progress,
      recipients: envelope.recipients,
      headerHash: envelope.headerHash.toString("hex"),
      bundleBytes: sink.bytesWritten,
    };
  } finally {
    sink.release();
    sodium.memzero(dataKey);
  }
}

/**
 * Opens a bundle (docs/bundle-format.md): checks the preamble, that a trusted key signed the
 * header, and that the data key is sealed to our key, then streams the records, authenticating
 * every chunk and requiring the FINAL chunk at the very end of the file.
 */
import { loadSodium } from "../lib/sodium.js";
import { type BodyContext, plaintextChunks, readRecords } from "./body-reader.js";
import { readEnvelope, verifyEnvelope } from "./envelope-open.js";
import { BundleError } from "./errors.js";
import { FileSource, openBundleFile } from "./file-source.js";
import { type BundleHeader, DATA_KEY_BYTES } from "./format.js";
import { type BundleKeyPair, type BundlePublicKey, fingerprint } from "./keys.js";
import { RecordAssembler } from "./record-framing.js";

export type { BundleHeader } from "./format.js";

export interface OpenedBundle {
  /** Verified: signed by a trusted key, sealed to ours. */
  header: BundleHeader;
  /** Hex SHA-256 of preamble + header + signature (the writer reports the same). */
  headerHash: string;
  /**
   * Streams every record; throws a BundleError at the first bad chunk, truncation, appended
   * bytes or missing FINAL tag. Records before a bad chunk have already been yielded by then:
   * call verifyAll() first when nothing may be acted on unless the whole bundle is sound.
   * Can be called more than once (re-reads the file). A record may be a view into its
   * decrypted chunk: copy it (slice) to keep it for long without keeping the chunk.
   */
  records(): AsyncIterable<Uint8Array>;
  /** Reads everything once, checking every chunk and the final tag, discarding records. */
  verifyAll(): Promise<{ records: number; bytes: number }>;
}

export interface OpenBundleOptions {
  /** Our key pair: the data key must be sealed to it. */
  key: BundleKeyPair;
  /** The keys whose signature we accept. */
  trust: readonly BundlePublicKey[];
}

export async function openBundle(file: string, options: OpenBundleOptions): Promise<OpenedBundle> {
  const sodium = await loadSodium();
  const handle = await openBundleFile(file);
  let verified: ReturnType<typeof verifyEnvelope>;
  let headerHash: Buffer;
  try {
    const envelope = await readEnvelope(new FileSource(handle), file);
    verified = verifyEnvelope(sodium, envelope, options.trust, file);
    headerHash = envelope.headerHash;
  } finally {
    await handle.close();
  }
  const ours = fingerprint(options.key);
  const sealed = verified.sealedDataKeys.get(ours);
  if (!sealed) {
    throw new BundleError("notRecipient", `${file}: not sealed to this key (fingerprint ${ours})`);
  }
  let dataKey: Uint8Array;
  try {
    dataKey = sodium.crypto_box_seal_open(
      sealed,
      options.key.boxPublicKey,
      options.key.boxSecretKey,
    );
  } catch {
    throw new BundleError(
      "notRecipient",
      `${file}: the data key sealed to ${ours} does not open with this secret key`,
    );
  }
  if (dataKey.length !== DATA_KEY_BYTES) {
    throw new BundleError("corrupt", `${file}: the sealed data key has the wrong size`);
  }
  const body: BodyContext = {
    file,
    sodium,
    dataKey,
    headerHash,
    chunkSize: verified.header.chunkSize,
  };
  return {
    header: verified.header,
    headerHash: headerHash.toString("hex"),
    records: () => readRecords(body),
    async verifyAll() {
      const assembler = new RecordAssembler(file);
      const totals = { records: 0, bytes: 0 };
      for await (const plain of plaintextChunks(body)) {
        assembler.load(plain);
        for (let record = assembler.next(); record; record = assembler.next()) {
          totals.records += 1;
          totals.bytes += record.length;
        }
      }
      assembler.checkComplete();
      return totals;
    },
  };
}

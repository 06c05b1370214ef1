/**
 * The bundle layout, version 1 (docs/bundle-format.md is the normative description):
 *
 *   preamble   "SRBUNDLE" · u16 BE format version · u32 BE header length
 *   header     UTF-8 JSON (HeaderJson)
 *   signature  Ed25519, detached, over preamble + header
 *   body       secretstream header (24 B), then chunks: u32 BE ciphertext length · ciphertext
 *
 * Every chunk's additional data is SHA-256(preamble + header + signature), the "header hash".
 */
export const MAGIC = Buffer.from("SRBUNDLE", "ascii");
export const FORMAT_VERSION = 1;
export const PREAMBLE_BYTES = MAGIC.length + 2 + 4;
export const SIGNATURE_BYTES = 64;
export const MAX_HEADER_BYTES = 1 << 20;
export const CHUNK_LENGTH_BYTES = 4;
export const RECORD_LENGTH_BYTES = 4;
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
export const MIN_CHUNK_SIZE = 64;
export const MAX_CHUNK_SIZE = 1 << 20;
/** Poly1305 tag + encrypted tag byte, added to each chunk by secretstream. */
export const CHUNK_OVERHEAD_BYTES = 17;
export const STREAM_HEADER_BYTES = 24;
export const DATA_KEY_BYTES = 32;
export const SEALED_DATA_KEY_BYTES = DATA_KEY_BYTES + 48;
export const FORMAT_NAME = "strongroom-bundle";

/** The header as it is serialized; binary values are standard base64 with padding. */
export interface HeaderJson {
  format: typeof FORMAT_NAME;
  formatVersion: number;
  deployment: string | null;
  createdAt: string;
  /** Absent in bundles from writers before it was added (readers then order by createdAt). */
  sequence?: number;
  counts: Record<string, number>;
  chunkSize: number;
  signer: { fingerprint: string; boxPublicKey: string; signPublicKey: string };
  recipients: Array<{ fingerprint: string; sealedDataKey: string }>;
}

/** What a verified bundle declares about itself. */
export interface BundleHeader {
  formatVersion: number;
  /** null: the bundle carries every deployment. */
  deployment: string | null;
  createdAt: string;
  /**
   * Strictly increasing across the bundles one signer writes; null when the writer set none.
   * What an importer compares to refuse an older or replayed bundle (import-order.ts).
   */
  sequence: number | null;
  counts: Record<string, number>;
  /** Plaintext bytes per body chunk. */
  chunkSize: number;
  /** Fingerprint of the key that signed the header. */
  signer: string;
  /** Fingerprints of the keys the data key is sealed to, in header order. */
  recipients: string[];
}

export function encodePreamble(headerLength: number): Buffer {
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  MAGIC.copy(preamble, 0);
  preamble.writeUInt16BE(FORMAT_VERSION, MAGIC.length);
  preamble.writeUInt32BE(headerLength, MAGIC.length + 2);
  return preamble;
}

export const isChunkSize = (size: number) =>
  Number.isSafeInteger(size) && size >= MIN_CHUNK_SIZE && size <= MAX_CHUNK_SIZE;

export const isIsoTime = (value: string) =>
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) &&
  !Number.isNaN(Date.parse(value));

export const isSequence = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 1;

export const isCounts = (value: unknown): value is Record<string, number> =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((n) => Number.isSafeInteger(n) && (n as number) >= 0);

export const FINGERPRINT_PATTERN = /^sr1:[a-z2-7]{32}$/;

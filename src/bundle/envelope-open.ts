/**
 * The reader's side of everything before the body. Order matters: the signer must be trusted and
 * the signature valid before any header field is believed or any data key is opened.
 */
import { createHash } from "node:crypto";
import type { sodium as Sodium } from "../lib/sodium.js";
import { BundleError } from "./errors.js";
import type { FileSource } from "./file-source.js";
import {
  type BundleHeader,
  FINGERPRINT_PATTERN,
  FORMAT_NAME,
  FORMAT_VERSION,
  isChunkSize,
  isCounts,
  isIsoTime,
  isSequence,
  MAGIC,
  MAX_HEADER_BYTES,
  PREAMBLE_BYTES,
  SEALED_DATA_KEY_BYTES,
  SIGNATURE_BYTES,
} from "./format.js";
import { type BundlePublicKey, fingerprint, KEY_SIZES } from "./key-text.js";

export interface RawEnvelope {
  /** Preamble, header and signature, exactly as in the file. */
  bytes: Buffer;
  headerLength: number;
  headerHash: Buffer;
}

export interface VerifiedEnvelope {
  header: BundleHeader;
  /** Recipient fingerprint → the data key sealed to it. */
  sealedDataKeys: Map<string, Uint8Array>;
}

type Json = Record<string, unknown>;

const corrupt = (message: string) => new BundleError("corrupt", message);

export async function readEnvelope(source: FileSource, where: string): Promise<RawEnvelope> {
  const preamble = Buffer.from(await source.read(PREAMBLE_BYTES));
  const magic = preamble.subarray(0, MAGIC.length);
  if (!magic.equals(MAGIC.subarray(0, magic.length))) {
    throw corrupt(`${where}: not a strongroom bundle`);
  }
  if (preamble.length < PREAMBLE_BYTES) {
    throw new BundleError("truncated", `${where}: the bundle is truncated inside its preamble`);
  }
  const version = preamble.readUInt16BE(MAGIC.length);
  if (version !== FORMAT_VERSION) {
    throw new BundleError(
      "version",
      `${where}: bundle format version ${version}; this strongroom reads version ${FORMAT_VERSION}`,
    );
  }
  const headerLength = preamble.readUInt32BE(MAGIC.length + 2);
  if (headerLength === 0 || headerLength > MAX_HEADER_BYTES) {
    throw corrupt(`${where}: the header length is out of range`);
  }
  const rest = await source.read(headerLength + SIGNATURE_BYTES);
  if (rest.length < headerLength + SIGNATURE_BYTES) {
    throw new BundleError("truncated", `${where}: the bundle is truncated inside its header`);
  }
  const bytes = Buffer.concat([preamble, rest]);
  return { bytes, headerLength, headerHash: createHash("sha256").update(bytes).digest() };
}

export function verifyEnvelope(
  sodium: typeof Sodium,
  envelope: RawEnvelope,
  trust: readonly BundlePublicKey[],
  where: string,
): VerifiedEnvelope {
  const signedEnd = PREAMBLE_BYTES + envelope.headerLength;
  const json = parseHeaderJson(envelope.bytes.subarray(PREAMBLE_BYTES, signedEnd), where);
  const signer = signerKey(json, where);
  if (!trust.some((key) => sameKey(key, signer))) {
    throw new BundleError(
      "signature",
      `${where}: signed by ${fingerprint(signer)}, which is not a trusted key`,
    );
  }
  let valid = false;
  try {
    valid = sodium.crypto_sign_verify_detached(
      envelope.bytes.subarray(signedEnd),
      envelope.bytes.subarray(0, signedEnd),
      signer.signPublicKey,
    );
  } catch {
    valid = false;
  }
  if (!valid) throw new BundleError("signature", `${where}: the header signature is invalid`);
  return checkedHeader(json, signer, where);
}

function parseHeaderJson(bytes: Uint8Array, where: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw corrupt(`${where}: the header is not valid JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw corrupt(`${where}: the header is not a JSON object`);
  }
  return parsed as Json;
}

function signerKey(json: Json, where: string): BundlePublicKey {
  const signer = json["signer"] as Json | null | undefined;
  const boxPublicKey = base64Field(signer?.["boxPublicKey"], KEY_SIZES.boxPublic);
  const signPublicKey = base64Field(signer?.["signPublicKey"], KEY_SIZES.signPublic);
  if (!boxPublicKey || !signPublicKey) throw corrupt(`${where}: the header names no valid signer`);
  return { boxPublicKey, signPublicKey };
}

function checkedHeader(json: Json, signer: BundlePublicKey, where: string): VerifiedEnvelope {
  const invalid = (field: string) => corrupt(`${where}: the header's ${field} is invalid`);
  if (json["format"] !== FORMAT_NAME) throw invalid("format");
  if (json["formatVersion"] !== FORMAT_VERSION) {
    throw new BundleError(
      "version",
      `${where}: the header's format version is not ${FORMAT_VERSION}`,
    );
  }
  const { deployment, createdAt, sequence, counts, chunkSize, recipients } = json;
  if (deployment !== null && typeof deployment !== "string") throw invalid("deployment");
  if (typeof createdAt !== "string" || !isIsoTime(createdAt)) throw invalid("createdAt");
  if (sequence !== undefined && !isSequence(sequence)) throw invalid("sequence");
  if (!isCounts(counts)) throw invalid("counts");
  if (typeof chunkSize !== "number" || !isChunkSize(chunkSize)) throw invalid("chunkSize");
  if ((json["signer"] as Json)["fingerprint"] !== fingerprint(signer)) {
    throw invalid("signer fingerprint");
  }
  if (!Array.isArray(recipients) || recipients.length === 0) throw invalid("recipients");
  const sealedDataKeys = new Map<string, Uint8Array>();
  for (const entry of recipients as Array<Json | null>) {
    const id = entry?.["fingerprint"];
    const sealed = base64Field(entry?.["sealedDataKey"], SEALED_DATA_KEY_BYTES);
    if (typeof id !== "string" || !FINGERPRINT_PATTERN.test(id) || !sealed) {
      throw invalid("recipients");
    }
    sealedDataKeys.set(id, sealed);
  }
  return {
    header: {
      formatVersion: FORMAT_VERSION,
      deployment,
      createdAt,
      sequence: sequence ?? null,
      counts: { ...counts },
      chunkSize,
      signer: fingerprint(signer),
      recipients: [...sealedDataKeys.keys()],
    },
    sealedDataKeys,
  };
}

function base64Field(value: unknown, size: number): Uint8Array | null {
  if (typeof value !== "string") return null;
  const bytes = Buffer.from(value, "base64");
  return bytes.length === size && bytes.toString("base64") === value ? new Uint8Array(bytes) : null;
}

const sameKey = (a: BundlePublicKey, b: BundlePublicKey) =>
  Buffer.from(a.signPublicKey).equals(b.signPublicKey) &&
  Buffer.from(a.boxPublicKey).equals(b.boxPublicKey);

/** The writer's side of everything before the body: preamble, signed header, signature. */
import { createHash } from "node:crypto";
import type { sodium as Sodium } from "../lib/sodium.js";
import { BundleError } from "./errors.js";
import {
  encodePreamble,
  FORMAT_NAME,
  FORMAT_VERSION,
  type HeaderJson,
  isCounts,
  isIsoTime,
  isSequence,
  MAX_HEADER_BYTES,
} from "./format.js";
import { type BundleKeyPair, type BundlePublicKey, fingerprint, KEY_SIZES } from "./key-text.js";

export interface BundleHeaderInput {
  /** null: the bundle carries every deployment. */
  deployment: string | null;
  /** ISO 8601. */
  createdAt: string;
  /** Strictly increasing per signer (the exporter's counter); omitted by callers without one. */
  sequence?: number;
  counts: Record<string, number>;
}

export interface SealedEnvelope {
  /** Preamble, header and signature: the file's first bytes. */
  bytes: Buffer;
  /** SHA-256 of `bytes`, the additional data of every body chunk. */
  headerHash: Buffer;
  recipients: string[];
}

const inputError = (message: string) => new BundleError("input", message);

export function sealEnvelope(
  sodium: typeof Sodium,
  options: {
    header: BundleHeaderInput;
    chunkSize: number;
    recipients: readonly BundlePublicKey[];
    signer: BundleKeyPair;
    dataKey: Uint8Array;
  },
): SealedEnvelope {
  checkHeaderInput(options.header);
  const recipients = distinctRecipients(options.recipients);
  const { signer } = options;
  if (signer.signSecretKey.length !== KEY_SIZES.signSecret) {
    throw inputError("bundle signer: the Ed25519 secret key has the wrong size");
  }
  const json: HeaderJson = {
    format: FORMAT_NAME,
    formatVersion: FORMAT_VERSION,
    deployment: options.header.deployment,
    createdAt: options.header.createdAt,
    ...(options.header.sequence !== undefined && { sequence: options.header.sequence }),
    counts: { ...options.header.counts },
    chunkSize: options.chunkSize,
    signer: {
      fingerprint: fingerprint(signer),
      boxPublicKey: base64(signer.boxPublicKey),
      signPublicKey: base64(signer.signPublicKey),
    },
    recipients: recipients.map(({ id, key }) => ({
      fingerprint: id,
      sealedDataKey: base64(sodium.crypto_box_seal(options.dataKey, key.boxPublicKey)),
    })),
  };
  const header = Buffer.from(JSON.stringify(json), "utf8");
  if (header.length > MAX_HEADER_BYTES) throw inputError("bundle header: too many recipients");
  const signed = Buffer.concat([encodePreamble(header.length), header]);
  const signature = sodium.crypto_sign_detached(signed, signer.signSecretKey);
  const bytes = Buffer.concat([signed, signature]);
  return {
    bytes,
    headerHash: createHash("sha256").update(bytes).digest(),
    recipients: recipients.map(({ id }) => id),
  };
}

function checkHeaderInput(header: BundleHeaderInput): void {
  if (header.deployment !== null && typeof header.deployment !== "string") {
    throw inputError("bundle header: deployment must be a name or null");
  }
  if (typeof header.createdAt !== "string" || !isIsoTime(header.createdAt)) {
    throw inputError("bundle header: createdAt must be an ISO 8601 time");
  }
  if (header.sequence !== undefined && !isSequence(header.sequence)) {
    throw inputError("bundle header: sequence must be a positive integer");
  }
  if (!isCounts(header.counts)) {
    throw inputError("bundle header: counts must map names to non-negative integers");
  }
}

/** Same key twice would only grow the header: each fingerprint is sealed to once. */
function distinctRecipients(keys: readonly BundlePublicKey[]) {
  if (keys.length === 0) throw inputError("a bundle needs at least one recipient");
  const seen = new Map<string, BundlePublicKey>();
  for (const key of keys) {
    if (
      key.boxPublicKey.length !== KEY_SIZES.boxPublic ||
      key.signPublicKey.length !== KEY_SIZES.signPublic
    ) {
      throw inputError("bundle recipient: a public key has the wrong size");
    }
    seen.set(fingerprint(key), key);
  }
  return [...seen].map(([id, key]) => ({ id, key }));
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

/**
 * The sealed file's envelope: the whole store JSON-encoded and sealed with libsodium's
 * secretbox (XSalsa20-Poly1305, a fresh random nonce on every write) under a 32-byte key.
 *
 * The key comes from a key file (32 raw bytes or 64 hex digits, mode 0600) or from a
 * passphrase. libsodium-wrappers' standard build has no crypto_pwhash, and no package may be
 * added, so passphrases go through Node's scrypt (memory-hard too); its salt and cost sit in
 * the envelope header.
 */
import { randomBytes, scrypt } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { StrongroomError } from "../../../src/lib/errors.js";
import { loadSodium } from "../../../src/lib/sodium.js";

export const ENVELOPE_FORMAT = "strongroom-sealed-file";
export const KEY_BYTES = 32;

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/** About 128 MiB and a few hundred milliseconds: once per open, never per operation. */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };

export type KdfHeader = { name: "key-file" } | ({ name: "scrypt"; salt: string } & ScryptCost);

export interface Envelope {
  format: typeof ENVELOPE_FORMAT;
  version: 1;
  cipher: "xsalsa20poly1305";
  kdf: KdfHeader;
  nonce: string;
  ciphertext: string;
}

export type KeySource = { keyFile: string } | { passphrase: string; cost?: ScryptCost };

export const sealedFileError = (message: string, cause?: unknown) =>
  new StrongroomError("STRONGROOM_ERR_SEALED_FILE", message, { cause });

/** Reads a key file, refusing one that group or others may read. */
export async function readKeyFile(path: string): Promise<Uint8Array> {
  let info: Awaited<ReturnType<typeof stat>>;
  let content: Buffer;
  try {
    info = await stat(path);
    content = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw sealedFileError(`cannot read the key file ${path} (${code})`, err);
  }
  if ((info.mode & 0o077) !== 0) {
    throw sealedFileError(`the key file ${path} is readable by others: chmod 600 it`);
  }
  if (content.length === KEY_BYTES) return new Uint8Array(content);
  const text = content.toString("latin1").trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new Uint8Array(Buffer.from(text, "hex"));
  throw sealedFileError(`the key file ${path} must hold ${KEY_BYTES} bytes (raw or hex)`);
}

export function deriveScryptKey(
  passphrase: string,
  salt: Uint8Array,
  cost: ScryptCost,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase.normalize("NFC"),
      salt,
      KEY_BYTES,
      { ...cost, maxmem: 256 * cost.N * cost.r + (1 << 20) },
      (err, key) =>
        err ? reject(sealedFileError("cannot derive the key", err)) : resolve(new Uint8Array(key)),
    );
  });
}

/** The key and the header that tells a later open how it was obtained. */
export async function keyFor(
  source: KeySource,
  existing?: KdfHeader,
): Promise<{ key: Uint8Array; kdf: KdfHeader }> {
  if ("keyFile" in source) {
    if (existing && existing.name !== "key-file") {
      throw sealedFileError("this sealed file is protected by a passphrase, not a key file");
    }
    return { key: await readKeyFile(source.keyFile), kdf: { name: "key-file" } };
  }
  if (existing && existing.name !== "scrypt") {
    throw sealedFileError("this sealed file is protected by a key file, not a passphrase");
  }
  const kdf: KdfHeader = existing ?? {
    name: "scrypt",
    salt: randomBytes(16).toString("base64"),
    ...(source.cost ?? DEFAULT_SCRYPT_COST),
  };
  const { salt, N, r, p } = kdf as Extract<KdfHeader, { name: "scrypt" }>;
  return {
    key: await deriveScryptKey(source.passphrase, Buffer.from(salt, "base64"), { N, r, p }),
    kdf,
  };
}

export async function seal(
  plaintext: Uint8Array,
  key: Uint8Array,
  kdf: KdfHeader,
): Promise<Envelope> {
  const sodium = await loadSodium();
  const nonce = sodium.randombytes_buf(sodium.crypto_secretbox_NONCEBYTES);
  const ciphertext = sodium.crypto_secretbox_easy(plaintext, nonce, key);
  return {
    format: ENVELOPE_FORMAT,
    version: 1,
    cipher: "xsalsa20poly1305",
    kdf,
    nonce: Buffer.from(nonce).toString("base64"),
    ciphertext: Buffer.from(ciphertext).toString("base64"),
  };
}

export async function open(envelope: Envelope, key: Uint8Array): Promise<Uint8Array> {
  const sodium = await loadSodium();
  try {
    return sodium.crypto_secretbox_open_easy(
      Buffer.from(envelope.ciphertext, "base64"),
      Buffer.from(envelope.nonce, "base64"),
      key,
    );
  } catch (err) {
    throw sealedFileError("cannot open the sealed file: wrong key or damaged file", err);
  }
}

export function parseEnvelope(text: string, file: string): Envelope {
  let envelope: Partial<Envelope>;
  try {
    envelope = JSON.parse(text) as Partial<Envelope>;
  } catch (err) {
    throw sealedFileError(`${file} is not a strongroom sealed file`, err);
  }
  if (
    envelope.format !== ENVELOPE_FORMAT ||
    envelope.version !== 1 ||
    envelope.cipher !== "xsalsa20poly1305"
  ) {
    throw sealedFileError(`${file} is not a strongroom sealed file (version 1)`);
  }
  return envelope as Envelope;
}

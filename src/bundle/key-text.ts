/**
 * The text of bundle key files and the fingerprint of a public key. Parsing needs no libsodium:
 * public halves are derived with node:crypto, so a key file can be checked synchronously.
 */
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { BundleError } from "./errors.js";

export interface BundlePublicKey {
  /** X25519: data keys are sealed to it with crypto_box_seal. */
  boxPublicKey: Uint8Array;
  /** Ed25519: verifies the header signature of the bundles this key's owner exports. */
  signPublicKey: Uint8Array;
}

export interface BundleKeyPair extends BundlePublicKey {
  boxSecretKey: Uint8Array;
  /** libsodium's 64-byte form: the 32-byte seed followed by the public key. */
  signSecretKey: Uint8Array;
}

export const KEY_SIZES = { boxPublic: 32, boxSecret: 32, signPublic: 32, signSecret: 64 } as const;

const PUBLIC_TAG = "strongroom-public-key";
const SECRET_TAG = "strongroom-secret-key";
const KEY_FILE_VERSION = "v1";
const FINGERPRINT_DOMAIN = "strongroom-bundle-key-v1\0";
const FINGERPRINT_BYTES = 20;
const BASE32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
// PKCS#8 DER prefixes for a raw 32-byte X25519 / Ed25519 private key (RFC 8410).
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

const keyError = (message: string) => new BundleError("key", message);

/** "sr1:" + base32 of the first 20 bytes of SHA-256 over a domain tag and both public keys. */
export function fingerprint(key: BundlePublicKey): string {
  const digest = createHash("sha256")
    .update(FINGERPRINT_DOMAIN)
    .update(key.boxPublicKey)
    .update(key.signPublicKey)
    .digest();
  return `sr1:${base32(digest.subarray(0, FINGERPRINT_BYTES))}`;
}

export function encodePublicKey(key: BundlePublicKey): string {
  return (
    `# strongroom bundle public key (X25519 + Ed25519), fingerprint ${fingerprint(key)}\n` +
    `${PUBLIC_TAG} ${KEY_FILE_VERSION} ${base64(key.boxPublicKey)} ${base64(key.signPublicKey)}\n`
  );
}

export function encodeKeyPair(pair: BundleKeyPair): string {
  return (
    `# strongroom bundle SECRET key: keep it private (mode 0600); fingerprint ${fingerprint(pair)}\n` +
    `${SECRET_TAG} ${KEY_FILE_VERSION} ${base64(pair.boxSecretKey)} ${base64(pair.signSecretKey)}\n`
  );
}

export function parsePublicKey(text: string, where: string): BundlePublicKey {
  const line = keyLine(text, where);
  if (line.tag === SECRET_TAG) {
    throw keyError(
      `${where}: a secret key file where a public key (.pub) is expected: a reused key of the wrong type`,
    );
  }
  const [box, sign] = fieldsOf(line, 2, where);
  return {
    boxPublicKey: decodeKey(box, KEY_SIZES.boxPublic, "X25519 public key", where),
    signPublicKey: decodeKey(sign, KEY_SIZES.signPublic, "Ed25519 public key", where),
  };
}

export function parseKeyPair(text: string, where: string): BundleKeyPair {
  const line = keyLine(text, where);
  if (line.tag === PUBLIC_TAG) throw publicKeyWhereSecretExpected(where);
  const [box, sign] = fieldsOf(line, 2, where);
  const boxSecretKey = decodeKey(box, KEY_SIZES.boxSecret, "X25519 secret key", where);
  const signSecretKey = decodeKey(sign, KEY_SIZES.signSecret, "Ed25519 secret key", where);
  const signPublicKey = signSecretKey.slice(32);
  const derived = derivePublicKey(ED25519_PKCS8_PREFIX, signSecretKey.subarray(0, 32));
  if (!Buffer.from(derived).equals(signPublicKey)) {
    throw keyError(`${where}: the Ed25519 secret key does not match its own public half`);
  }
  return {
    boxSecretKey,
    signSecretKey,
    boxPublicKey: derivePublicKey(X25519_PKCS8_PREFIX, boxSecretKey),
    signPublicKey,
  };
}

export const publicKeyWhereSecretExpected = (where: string) =>
  keyError(
    `${where}: a public key file where a secret key (.key) is expected: a reused key of the wrong type`,
  );

/** Which kind of key file the text is, without decoding or checking its keys. */
export function keyFileKind(text: string, where: string): "public" | "secret" {
  return keyLine(text, where).tag === PUBLIC_TAG ? "public" : "secret";
}

interface KeyLine {
  tag: typeof PUBLIC_TAG | typeof SECRET_TAG;
  fields: string[];
}

function keyLine(text: string, where: string): KeyLine {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const [tag, version, ...fields] = lines.length === 1 ? lines[0]!.split(/\s+/) : [];
  if (tag !== PUBLIC_TAG && tag !== SECRET_TAG) {
    throw keyError(`${where}: not a strongroom key file (make one with strongroom keygen)`);
  }
  if (version !== KEY_FILE_VERSION) {
    const shown = version !== undefined && /^v\d{1,6}$/.test(version) ? `${version} ` : "";
    throw keyError(
      `${where}: unknown key file version ${shown}(this strongroom reads ${KEY_FILE_VERSION})`,
    );
  }
  return { tag, fields };
}

function fieldsOf(line: KeyLine, count: number, where: string): string[] {
  if (line.fields.length !== count) {
    throw keyError(`${where}: malformed key line (${line.fields.length} keys, expected ${count})`);
  }
  return line.fields;
}

function decodeKey(field: string | undefined, size: number, what: string, where: string) {
  const bytes = Buffer.from(field ?? "", "base64");
  if (bytes.toString("base64") !== field) throw keyError(`${where}: the ${what} is not base64`);
  if (bytes.length !== size) {
    throw keyError(`${where}: the ${what} is ${bytes.length} bytes, expected ${size}`);
  }
  return new Uint8Array(bytes);
}

function derivePublicKey(pkcs8Prefix: Buffer, secret: Uint8Array): Uint8Array {
  const privateKey = createPrivateKey({
    key: Buffer.concat([pkcs8Prefix, secret]),
    format: "der",
    type: "pkcs8",
  });
  const spki = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

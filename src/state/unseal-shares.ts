/**
 * The operator key pair (X25519, libsodium) and the unseal shares sealed to it. Only the holder of
 * operator.key can open unseal.sealed, so a copy of the Vault storage plus unseal.sealed is not
 * enough to unseal: move operator.key out of the state dir to make that split real.
 */
import { ERRORS, StrongroomError } from "../lib/errors.js";
import { loadSodium } from "../lib/sodium.js";
import { STATE_FILES, type StateDir } from "./state-dir.js";

export interface OperatorKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** Reads the operator key pair, creating it on first use. */
export async function ensureOperatorKeyPair(dir: StateDir): Promise<OperatorKeyPair> {
  const sodium = await loadSodium();
  if (dir.has(STATE_FILES.operatorSecretKey)) return readOperatorKeyPair(dir);
  const pair = sodium.crypto_box_keypair();
  dir.write(STATE_FILES.operatorSecretKey, `${sodium.to_base64(pair.privateKey)}\n`);
  dir.write(STATE_FILES.operatorPublicKey, `${sodium.to_base64(pair.publicKey)}\n`);
  return { publicKey: pair.publicKey, secretKey: pair.privateKey };
}

export async function readOperatorKeyPair(dir: StateDir): Promise<OperatorKeyPair> {
  const sodium = await loadSodium();
  const secretKey = decodeKey(dir, STATE_FILES.operatorSecretKey);
  const publicKey = sodium.crypto_scalarmult_base(secretKey);
  if (dir.has(STATE_FILES.operatorPublicKey)) {
    const stored = decodeKey(dir, STATE_FILES.operatorPublicKey);
    if (!sodium.memcmp(stored, publicKey)) {
      throw ERRORS.STRONGROOM_ERR_STATE(
        `${dir.file(STATE_FILES.operatorPublicKey)} does not belong to ${dir.file(STATE_FILES.operatorSecretKey)}`,
      );
    }
  }
  return { publicKey, secretKey };
}

/** Seals the shares (a JSON array, nothing else) to the operator's public key. */
export async function sealUnsealShares(dir: StateDir, shares: readonly string[]): Promise<void> {
  const sodium = await loadSodium();
  const { publicKey, secretKey } = await ensureOperatorKeyPair(dir);
  sodium.memzero(secretKey);
  const plain = sodium.from_string(JSON.stringify(shares));
  const sealed = sodium.crypto_box_seal(plain, publicKey);
  sodium.memzero(plain);
  dir.write(STATE_FILES.unsealShares, `${sodium.to_base64(sealed)}\n`);
}

export async function openUnsealShares(dir: StateDir): Promise<string[]> {
  const sodium = await loadSodium();
  const { publicKey, secretKey } = await readOperatorKeyPair(dir);
  let plain: Uint8Array;
  try {
    const sealed = sodium.from_base64(dir.readText(STATE_FILES.unsealShares).trim());
    plain = sodium.crypto_box_seal_open(sealed, publicKey, secretKey);
  } catch (error) {
    if (error instanceof StrongroomError) throw error;
    throw ERRORS.STRONGROOM_ERR_STATE(
      `${dir.file(STATE_FILES.unsealShares)} cannot be opened with ${dir.file(STATE_FILES.operatorSecretKey)}`,
    );
  } finally {
    sodium.memzero(secretKey);
  }
  const shares = JSON.parse(sodium.to_string(plain)) as unknown;
  sodium.memzero(plain);
  if (!Array.isArray(shares) || !shares.every((s) => typeof s === "string")) {
    throw ERRORS.STRONGROOM_ERR_STATE(
      `${dir.file(STATE_FILES.unsealShares)} holds no unseal shares`,
    );
  }
  return shares;
}

function decodeKey(dir: StateDir, name: string): Uint8Array {
  try {
    const key = Buffer.from(dir.readText(name).trim(), "base64url");
    if (key.length !== 32) throw new Error("length");
    return new Uint8Array(key);
  } catch (error) {
    if (error instanceof StrongroomError) throw error;
    throw ERRORS.STRONGROOM_ERR_STATE(`${dir.file(name)} is not an X25519 key`);
  }
}

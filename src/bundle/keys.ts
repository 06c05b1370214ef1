/**
 * Bundle key pairs (X25519 to open bundles, Ed25519 to sign them) and their files:
 * NAME.pub (0644, shared) and NAME.key (0600, never leaves its owner).
 */
import { closeSync, fstatSync, openSync, readFileSync } from "node:fs";
import { open, unlink } from "node:fs/promises";
import { loadSodium } from "../lib/sodium.js";
import { BundleError } from "./errors.js";
import {
  type BundleKeyPair,
  type BundlePublicKey,
  encodeKeyPair,
  encodePublicKey,
  keyFileKind,
  parseKeyPair,
  parsePublicKey,
  publicKeyWhereSecretExpected,
} from "./key-text.js";

export {
  type BundleKeyPair,
  type BundlePublicKey,
  encodeKeyPair,
  encodePublicKey,
  fingerprint,
  parseKeyPair,
  parsePublicKey,
} from "./key-text.js";

const KEY_FILE_MAX_BYTES = 64 * 1024;
const PUBLIC_FILE_MODE = 0o644;
const SECRET_FILE_MODE = 0o600;

export async function generateBundleKeyPair(): Promise<BundleKeyPair> {
  const sodium = await loadSodium();
  const box = sodium.crypto_box_keypair();
  const sign = sodium.crypto_sign_keypair();
  return {
    boxPublicKey: box.publicKey,
    boxSecretKey: box.privateKey,
    signPublicKey: sign.publicKey,
    signSecretKey: sign.privateKey,
  };
}

/** `NAME.pub` and `NAME.key` for a base path NAME. */
export const keyFilePaths = (basePath: string) => ({
  publicFile: `${basePath}.pub`,
  secretFile: `${basePath}.key`,
});

/**
 * Writes NAME.key (0600) then NAME.pub (0644). Without `force`, an existing file of either name
 * is an error and nothing is written; with it, both are replaced.
 */
export async function writeKeyFiles(
  basePath: string,
  pair: BundleKeyPair,
  options: { force?: boolean } = {},
): Promise<{ publicFile: string; secretFile: string }> {
  const files = keyFilePaths(basePath);
  if (options.force) {
    await Promise.all([removeIfPresent(files.secretFile), removeIfPresent(files.publicFile)]);
  }
  await createExclusive(files.secretFile, encodeKeyPair(pair), SECRET_FILE_MODE);
  try {
    await createExclusive(files.publicFile, encodePublicKey(pair), PUBLIC_FILE_MODE);
  } catch (error) {
    await removeIfPresent(files.secretFile);
    throw error;
  }
  return files;
}

export function readPublicKeyFile(path: string): BundlePublicKey {
  return parsePublicKey(readKeyFileText(path).text, path);
}

/** Refuses a public key file, and a secret key file that group or others may read. */
export function readSecretKeyFile(path: string): BundleKeyPair {
  const { text, mode } = readKeyFileText(path);
  if (keyFileKind(text, path) === "public") throw publicKeyWhereSecretExpected(path);
  if ((mode & 0o077) !== 0) {
    throw new BundleError(
      "key",
      `${path}: secret key file is readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  return parseKeyPair(text, path);
}

function readKeyFileText(path: string): { text: string; mode: number } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw new BundleError("key", `${path}: cannot read the key file (${errnoCode(error)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > KEY_FILE_MAX_BYTES) {
      throw new BundleError("key", `${path}: not a strongroom key file`);
    }
    return { text: readFileSync(fd, "utf8"), mode: stat.mode };
  } finally {
    closeSync(fd);
  }
}

async function createExclusive(path: string, text: string, mode: number): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "wx", mode);
  } catch (error) {
    const code = errnoCode(error);
    const reason = code === "EEXIST" ? "already exists (pass --force to replace it)" : code;
    throw new BundleError("key", `${path}: cannot write the key file: ${reason}`);
  }
  try {
    // the umask may have narrowed or (for 0644) left the mode as asked; make it exact
    await handle.chmod(mode);
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function removeIfPresent(path: string): Promise<void> {
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") {
      throw new BundleError("key", `${path}: cannot replace the key file (${errnoCode(error)})`);
    }
  });
}

const errnoCode = (error: unknown) =>
  (error as NodeJS.ErrnoException | undefined)?.code ?? "unreadable";

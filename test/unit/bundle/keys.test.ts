import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BundleError } from "../../../src/bundle/errors.js";
import {
  type BundleKeyPair,
  encodeKeyPair,
  encodePublicKey,
  fingerprint,
  generateBundleKeyPair,
  parseKeyPair,
  parsePublicKey,
  readPublicKeyFile,
  readSecretKeyFile,
  writeKeyFiles,
} from "../../../src/bundle/keys.js";
import { loadSodium } from "../../../src/lib/sodium.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("strongroom-keys-");
let pair: BundleKeyPair;
beforeAll(async () => {
  pair = await generateBundleKeyPair();
});

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const keyError = (run: () => unknown): BundleError => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).code).toBe("STRONGROOM_ERR_KEY");
    expect((error as BundleError).message).not.toContain("\n");
    return error as BundleError;
  }
  throw new Error("expected a key error");
};

describe("bundle key pairs", () => {
  it("are X25519 + Ed25519 pairs libsodium agrees with", async () => {
    const sodium = await loadSodium();
    expect(hex(sodium.crypto_scalarmult_base(pair.boxSecretKey))).toBe(hex(pair.boxPublicKey));
    const signature = sodium.crypto_sign_detached("message", pair.signSecretKey);
    expect(sodium.crypto_sign_verify_detached(signature, "message", pair.signPublicKey)).toBe(true);
  });

  it("have a stable sr1: fingerprint over both public keys", async () => {
    const id = fingerprint(pair);
    expect(id).toMatch(/^sr1:[a-z2-7]{32}$/);
    expect(fingerprint({ ...pair })).toBe(id);
    const other = await generateBundleKeyPair();
    expect(fingerprint({ ...pair, signPublicKey: other.signPublicKey })).not.toBe(id);
    expect(fingerprint({ ...pair, boxPublicKey: other.boxPublicKey })).not.toBe(id);
  });

  it("survive their text form", () => {
    const publicKey = parsePublicKey(encodePublicKey(pair), "x.pub");
    expect(hex(publicKey.boxPublicKey)).toBe(hex(pair.boxPublicKey));
    expect(hex(publicKey.signPublicKey)).toBe(hex(pair.signPublicKey));
    const back = parseKeyPair(encodeKeyPair(pair), "x.key");
    for (const field of [
      "boxPublicKey",
      "boxSecretKey",
      "signPublicKey",
      "signSecretKey",
    ] as const) {
      expect(hex(back[field])).toBe(hex(pair[field]));
    }
    expect(encodePublicKey(pair)).toContain(fingerprint(pair));
  });

  it("never put secret halves in the public text", () => {
    const text = encodePublicKey(pair);
    expect(text).not.toContain(Buffer.from(pair.boxSecretKey).toString("base64"));
    expect(text).not.toContain(Buffer.from(pair.signSecretKey).toString("base64"));
  });
});

describe("parsing key texts", () => {
  const publicLine = () => encodePublicKey(pair).split("\n")[1]!;

  it("refuses a secret key where a public one is expected, and the reverse", () => {
    expect(keyError(() => parsePublicKey(encodeKeyPair(pair), "node.key")).message).toBe(
      "node.key: a secret key file where a public key (.pub) is expected: a reused key of the wrong type",
    );
    expect(keyError(() => parseKeyPair(encodePublicKey(pair), "node.pub")).message).toBe(
      "node.pub: a public key file where a secret key (.key) is expected: a reused key of the wrong type",
    );
  });

  it("refuses other files, unknown versions, wrong sizes and broken base64", () => {
    expect(keyError(() => parsePublicKey("hello\n", "f")).message).toBe(
      "f: not a strongroom key file (make one with strongroom keygen)",
    );
    expect(keyError(() => parsePublicKey("", "f")).message).toMatch(/not a strongroom key file/);
    expect(
      keyError(() => parsePublicKey(`${publicLine()}\n${publicLine()}\n`, "f")).message,
    ).toMatch(/not a strongroom key file/);
    expect(keyError(() => parsePublicKey(publicLine().replace(" v1 ", " v2 "), "f")).message).toBe(
      "f: unknown key file version v2 (this strongroom reads v1)",
    );
    const [tag, version, box] = publicLine().split(" ");
    const short = Buffer.alloc(31).toString("base64");
    expect(keyError(() => parsePublicKey(`${tag} ${version} ${box} ${short}`, "f")).message).toBe(
      "f: the Ed25519 public key is 31 bytes, expected 32",
    );
    expect(keyError(() => parsePublicKey(`${tag} ${version} ${box}`, "f")).message).toBe(
      "f: malformed key line (1 keys, expected 2)",
    );
    expect(keyError(() => parsePublicKey(`${tag} ${version} ${box} %%%%`, "f")).message).toBe(
      "f: the Ed25519 public key is not base64",
    );
  });

  it("refuses an Ed25519 secret key whose public half was swapped", async () => {
    const other = await generateBundleKeyPair();
    const mixed = {
      ...pair,
      signSecretKey: Buffer.concat([pair.signSecretKey.subarray(0, 32), other.signPublicKey]),
    };
    expect(keyError(() => parseKeyPair(encodeKeyPair(mixed), "k")).message).toBe(
      "k: the Ed25519 secret key does not match its own public half",
    );
  });
});

describe("key files", () => {
  it("are written as NAME.key (0600) and NAME.pub (0644) and read back", async () => {
    const base = join(tempDir(), "node1");
    const files = await writeKeyFiles(base, pair);
    expect(files).toEqual({ publicFile: `${base}.pub`, secretFile: `${base}.key` });
    expect(statSync(files.secretFile).mode & 0o777).toBe(0o600);
    expect(statSync(files.publicFile).mode & 0o777).toBe(0o644);
    expect(fingerprint(readPublicKeyFile(files.publicFile))).toBe(fingerprint(pair));
    expect(hex(readSecretKeyFile(files.secretFile).boxSecretKey)).toBe(hex(pair.boxSecretKey));
  });

  it("are not overwritten without force; with force they are replaced", async () => {
    const base = join(tempDir(), "node1");
    await writeKeyFiles(base, pair);
    const other = await generateBundleKeyPair();
    const refusal = await writeKeyFiles(base, other).catch((e) => e);
    expect(refusal).toBeInstanceOf(BundleError);
    expect(refusal.message).toBe(
      `${base}.key: cannot write the key file: already exists (pass --force to replace it)`,
    );
    expect(fingerprint(readPublicKeyFile(`${base}.pub`))).toBe(fingerprint(pair));
    await writeKeyFiles(base, other, { force: true });
    expect(fingerprint(readPublicKeyFile(`${base}.pub`))).toBe(fingerprint(other));
    expect(statSync(`${base}.key`).mode & 0o777).toBe(0o600);
  });

  it("leave nothing behind when only the .pub exists", async () => {
    const base = join(tempDir(), "half");
    writeFileSync(`${base}.pub`, "someone else's\n");
    await expect(writeKeyFiles(base, pair)).rejects.toThrow(/half\.pub: cannot write the key file/);
    expect(() => statSync(`${base}.key`)).toThrow();
    expect(readFileSync(`${base}.pub`, "utf8")).toBe("someone else's\n");
  });

  it("refuse a secret key file that group or others can read, and wrong-type files", async () => {
    const base = join(tempDir(), "node1");
    const files = await writeKeyFiles(base, pair);
    chmodSync(files.secretFile, 0o640);
    expect(keyError(() => readSecretKeyFile(files.secretFile)).message).toBe(
      `${files.secretFile}: secret key file is readable by group or others (mode 640); chmod 600 it`,
    );
    expect(keyError(() => readSecretKeyFile(files.publicFile)).message).toMatch(
      /a public key file where a secret key \(\.key\) is expected/,
    );
    expect(keyError(() => readPublicKeyFile(files.secretFile)).message).toMatch(
      /a secret key file where a public key \(\.pub\) is expected/,
    );
    expect(keyError(() => readPublicKeyFile(join(base, "absent.pub"))).message).toMatch(
      /cannot read the key file \(ENOENT\)$/,
    );
  });
});

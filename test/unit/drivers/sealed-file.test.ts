import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createSealedFileKeyManager,
  driver,
  writeSealedFileKey,
} from "../../../drivers/key-managers/sealed-file/index.js";

/** Cheap scrypt for tests; the default costs ~128 MiB per open. */
const cost = { N: 2 ** 10, r: 8, p: 1 };
const SECRET = "pa$$w0rd-ẞ-do-not-print";

describe("the sealed-file key manager", () => {
  let dir: string;
  let file: string;
  let keyFile: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "sealed-"));
    file = join(dir, "secrets.sealed");
    keyFile = join(dir, "store.key");
    await writeSealedFileKey(keyFile);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("stores, versions, reopens and destroys secrets", async () => {
    const km = await createSealedFileKeyManager({ file, keyFile, deployment: "overcloud" });
    expect(await km.put("NovaPassword", SECRET, { cas: 0 })).toEqual({ version: 1 });
    expect(await km.put("NovaPassword", "second")).toEqual({ version: 2 });
    await km.put("KeystoneFernetKeys", { "/etc/keystone/fernet-keys/0": { content: "k0" } });

    const reopened = await createSealedFileKeyManager({ file, keyFile, deployment: "overcloud" });
    expect(await reopened.list()).toEqual(["KeystoneFernetKeys", "NovaPassword"]);
    expect(await reopened.get("NovaPassword")).toMatchObject({
      value: "second",
      version: 2,
      type: "passphrase",
    });
    expect(await reopened.get("NovaPassword", 1)).toMatchObject({ value: SECRET, version: 1 });
    expect(await reopened.get("KeystoneFernetKeys")).toMatchObject({
      type: "opaque",
      value: { "/etc/keystone/fernet-keys/0": { content: "k0" } },
    });
    expect((await reopened.versions("NovaPassword")).map((v) => v.version)).toEqual([1, 2]);
    await reopened.destroy("NovaPassword");
    expect(await reopened.get("NovaPassword")).toBeUndefined();
    expect(await reopened.versions("NovaPassword")).toEqual([]);

    const other = await createSealedFileKeyManager({ file, keyFile, deployment: "edge1" });
    expect(await other.list()).toEqual([]);
  });

  it("enforces check-and-set", async () => {
    const km = await createSealedFileKeyManager({ file, keyFile, deployment: "d" });
    await km.put("A", "1", { cas: 0 });
    await expect(km.put("A", "2", { cas: 0 })).rejects.toMatchObject({
      code: "STRONGROOM_ERR_CAS_MISMATCH",
    });
    expect(await km.put("A", "2", { cas: 1 })).toEqual({ version: 2 });
  });

  it("keeps the file sealed, 0600, rewritten atomically with no leftovers", async () => {
    const km = await createSealedFileKeyManager({ file, keyFile, deployment: "d" });
    await Promise.all(Array.from({ length: 20 }, (_, i) => km.put(`NameMarker${i}`, SECRET)));
    const text = readFileSync(file, "utf8");
    expect(text.includes(SECRET) || text.includes("NameMarker")).toBe(false);
    expect(JSON.parse(text)).toMatchObject({
      format: "strongroom-sealed-file",
      cipher: "xsalsa20poly1305",
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(["secrets.sealed", "store.key"]);
    expect(await km.list()).toHaveLength(20);
  });

  it("derives the key from a passphrase and refuses a wrong one", async () => {
    const km = await createSealedFileKeyManager({
      file,
      passphrase: "correct horse",
      cost,
      deployment: "d",
    });
    await km.put("A", SECRET);
    const again = await createSealedFileKeyManager({
      file,
      passphrase: "correct horse",
      deployment: "d",
    });
    expect((await again.get("A"))?.value).toBe(SECRET);
    await expect(
      createSealedFileKeyManager({ file, passphrase: "wrong", deployment: "d" }),
    ).rejects.toMatchObject({
      code: "STRONGROOM_ERR_SEALED_FILE",
      message: expect.stringContaining("wrong key"),
    });
    await expect(createSealedFileKeyManager({ file, keyFile, deployment: "d" })).rejects.toThrow(
      /passphrase/,
    );
  });

  it("refuses a key file others can read, or of the wrong size", async () => {
    chmodSync(keyFile, 0o644);
    await expect(createSealedFileKeyManager({ file, keyFile, deployment: "d" })).rejects.toThrow(
      /chmod 600/,
    );
    writeFileSync(keyFile, "short", { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    await expect(createSealedFileKeyManager({ file, keyFile, deployment: "d" })).rejects.toThrow(
      /32 bytes/,
    );
  });

  it("detects tampering", async () => {
    const km = await createSealedFileKeyManager({ file, keyFile, deployment: "d" });
    await km.put("A", SECRET);
    const envelope = JSON.parse(readFileSync(file, "utf8"));
    const bytes = Buffer.from(envelope.ciphertext, "base64");
    bytes[5]! ^= 1;
    envelope.ciphertext = bytes.toString("base64");
    writeFileSync(file, JSON.stringify(envelope));
    await expect(createSealedFileKeyManager({ file, keyFile, deployment: "d" })).rejects.toThrow(
      /damaged/,
    );
  });

  it("is created by its driver from config", async () => {
    const km = await driver.create({ file, keyFile }, { deployment: "d" });
    expect(km.driver).toBe("sealed-file");
    await expect(driver.create({ file }, { deployment: "d" })).rejects.toThrow(/keyFile/);
  });

  it("takes a passphrase from the environment only, never from the config itself", async () => {
    const passphraseFile = join(dir, "by-passphrase.sealed");
    await expect(
      driver.create({ file: passphraseFile, passphrase: "in the manifest" }, { deployment: "d" }),
    ).rejects.toThrow(/does not belong in a config file/);
    await expect(
      driver.create(
        { file: passphraseFile, passphraseEnv: "STRONGROOM_TEST_UNSET_PASS" },
        {
          deployment: "d",
        },
      ),
    ).rejects.toThrow(/STRONGROOM_TEST_UNSET_PASS is not set/);
    process.env.STRONGROOM_TEST_SEALED_PASS = "correct horse";
    try {
      const km = await driver.create(
        { file: passphraseFile, passphraseEnv: "STRONGROOM_TEST_SEALED_PASS" },
        { deployment: "d" },
      );
      await km.put("A", "a");
      expect(await km.list()).toEqual(["A"]);
      await km.close?.();
    } finally {
      delete process.env.STRONGROOM_TEST_SEALED_PASS;
    }
  });

  it("refuses every call once closed, listing included", async () => {
    const km = await createSealedFileKeyManager({ file, keyFile, deployment: "d" });
    await km.put("A", "a");
    await km.close?.();
    await expect(km.list()).rejects.toThrow(/closed/);
    await expect(km.get("A")).rejects.toThrow(/closed/);
  });
});

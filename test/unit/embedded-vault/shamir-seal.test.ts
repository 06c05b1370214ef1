import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { VaultError } from "../../../src/embedded-vault/errors.js";
import { SealManager } from "../../../src/embedded-vault/seal/shamir-seal.js";
import { Barrier } from "../../../src/embedded-vault/storage/barrier.js";
import {
  createMemoryStore,
  openSqliteStore,
  type PhysicalStore,
} from "../../../src/embedded-vault/storage/physical.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) =>
  value === undefined ? undefined : new TextDecoder().decode(value);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function manager(physical: PhysicalStore = createMemoryStore()) {
  const barrier = new Barrier(physical);
  return { physical, barrier, seal: new SealManager(physical, barrier) };
}

async function initialized(shares: number, threshold: number) {
  const parts = manager();
  const init = await parts.seal.initialize({ secret_shares: shares, secret_threshold: threshold });
  return { ...parts, init };
}

async function expectBadRequest(promise: Promise<unknown>, message: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VaultError);
  expect((error as VaultError).status).toBe(400);
  expect((error as VaultError).errors).toEqual([message]);
}

describe("SealManager.initialize", () => {
  it("reports an uninitialized store", () => {
    const { seal } = manager();
    expect(seal.isInitialized()).toBe(false);
    expect(seal.status()).toEqual({
      type: "shamir",
      initialized: false,
      sealed: true,
      t: 0,
      n: 0,
      progress: 0,
      nonce: "",
    });
  });

  it("returns n shares as hex and base64 and leaves the barrier unsealed", async () => {
    const { seal, barrier, init } = await initialized(5, 3);
    expect(init.keys).toHaveLength(5);
    expect(init.keys_base64).toHaveLength(5);
    for (const [i, hex] of init.keys.entries()) {
      expect(hex).toMatch(/^[0-9a-f]{66}$/);
      expect(Buffer.from(init.keys_base64[i]!, "base64").toString("hex")).toBe(hex);
    }
    expect(new Set(init.keys).size).toBe(5);
    expect(barrier.sealed).toBe(false);
    expect(seal.isInitialized()).toBe(true);
    expect(seal.status()).toMatchObject({ initialized: true, sealed: false, t: 3, n: 5 });
  });

  it.each([
    [0, 0, "invalid seal configuration: shares must be at least one"],
    [undefined, undefined, "invalid seal configuration: shares must be at least one"],
    [1, 0, "invalid seal configuration: threshold must be at least one"],
    [3, 1, "invalid seal configuration: threshold must be greater than one for multiple shares"],
    [256, 3, "invalid seal configuration: shares must be less than 256"],
    [255, 256, "invalid seal configuration: threshold must be less than 256"],
    [3, 4, "invalid seal configuration: threshold cannot be larger than shares"],
    [-1, 1, "invalid seal configuration: shares must be at least one"],
  ])("rejects shares=%s threshold=%s", async (shares, threshold, message) => {
    const { seal } = manager();
    await expectBadRequest(
      seal.initialize({ secret_shares: shares, secret_threshold: threshold }),
      message,
    );
    expect(seal.isInitialized()).toBe(false);
  });

  it.each([2.5, "3", [3], { n: 3 }, true])("rejects the non-integer %j with 400", async (value) => {
    const { seal } = manager();
    const error = await seal
      .initialize({ secret_shares: value, secret_threshold: 2 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(VaultError);
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/secret_shares/);
  });

  it("refuses a second initialization", async () => {
    const { seal } = await initialized(1, 1);
    await expectBadRequest(
      seal.initialize({ secret_shares: 1, secret_threshold: 1 }),
      "Vault is already initialized",
    );
    const concurrent = manager().seal;
    const first = concurrent.initialize({ secret_shares: 1, secret_threshold: 1 });
    await expectBadRequest(
      concurrent.initialize({ secret_shares: 1, secret_threshold: 1 }),
      "Vault is already initialized",
    );
    await first;
  });

  it("accepts the maximum of 255 shares", async () => {
    const { seal, init } = await initialized(255, 255);
    expect(init.keys).toHaveLength(255);
    seal.seal();
    for (const key of init.keys.slice(0, 254)) await seal.submitShare(key);
    expect(seal.status()).toMatchObject({ sealed: true, progress: 254 });
    expect((await seal.submitShare(init.keys[254]!)).sealed).toBe(false);
  });
});

describe("SealManager.submitShare", () => {
  it("unseals with any threshold-sized subset of shares, and not with fewer", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 2, max: 12 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.integer({ min: 2, max: n }),
              fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
            ),
          ),
        fc.boolean(),
        async ([n, t, order], useBase64) => {
          const { seal, barrier, init } = await initialized(n, t);
          const tx = barrier.begin();
          tx.put("k", bytes("v"));
          await tx.commit();
          seal.seal();
          const keys = useBase64 ? init.keys_base64 : init.keys;
          const chosen = order.slice(0, t);
          for (const [i, index] of chosen.entries()) {
            const status = await seal.submitShare(keys[index]!);
            if (i < t - 1) expect(status).toMatchObject({ sealed: true, progress: i + 1 });
            else expect(status).toMatchObject({ sealed: false, progress: 0, nonce: "" });
          }
          expect(text(barrier.begin().get("k"))).toBe("v");
        },
      ),
      { numRuns: 40 },
    );
  });

  it("treats the single share of a 1-of-1 vault as the unseal key", async () => {
    const { seal, barrier, init } = await initialized(1, 1);
    expect(init.keys[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(init.keys_base64[0]!, "base64")).toHaveLength(32);
    seal.seal();
    expect(barrier.sealed).toBe(true);
    expect(await seal.submitShare(init.keys_base64[0]!)).toMatchObject({
      sealed: false,
      t: 1,
      n: 1,
      progress: 0,
    });
    seal.seal();
    expect((await seal.submitShare(init.keys[0]!)).sealed).toBe(false);
  });

  it("accepts hex in either case and standard, url-safe and unpadded base64", async () => {
    const { seal, init } = await initialized(3, 2);
    const raw = Buffer.from(init.keys[0]!, "hex");
    const forms = [
      init.keys[0]!,
      init.keys[0]!.toUpperCase(),
      raw.toString("base64"),
      raw.toString("base64url"),
      raw.toString("base64").replace(/=+$/, ""),
    ];
    for (const form of forms) {
      seal.seal();
      expect((await seal.submitShare(form)).progress).toBe(1);
      expect((await seal.submitShare(init.keys_base64[2]!)).sealed).toBe(false);
    }
  });

  it("tracks progress with one nonce per attempt and ignores duplicates", async () => {
    const { seal, init } = await initialized(5, 3);
    seal.seal();
    expect(seal.status()).toMatchObject({ sealed: true, progress: 0, nonce: "" });
    const first = await seal.submitShare(init.keys[0]!);
    expect(first.progress).toBe(1);
    expect(first.nonce).toMatch(/^[0-9a-f-]{36}$/);
    const duplicate = await seal.submitShare(init.keys_base64[0]!);
    expect(duplicate).toEqual(first);
    expect((await seal.submitShare(init.keys[1]!)).nonce).toBe(first.nonce);

    expect(seal.resetProgress()).toMatchObject({ progress: 0, nonce: "" });
    const second = await seal.submitShare(init.keys[1]!);
    expect(second.nonce).not.toBe(first.nonce);
  });

  it("refuses a share from another vault and keeps the progress", async () => {
    const { seal, init } = await initialized(5, 3);
    const other = await initialized(5, 3);
    seal.seal();
    await seal.submitShare(init.keys[0]!);
    const before = seal.status();
    await expectBadRequest(seal.submitShare(other.init.keys[0]!), "invalid unseal key share");
    const tampered = init.keys[1]!.replace(/^../, (b) => (b === "00" ? "01" : "00"));
    await expectBadRequest(seal.submitShare(tampered), "invalid unseal key share");
    await expectBadRequest(seal.submitShare("AAAA"), "invalid unseal key share");
    expect(seal.status()).toEqual(before);
    await seal.submitShare(init.keys[3]!);
    expect((await seal.submitShare(init.keys[4]!)).sealed).toBe(false);
  });

  it.each(["", "not base64!", "=" + "ab".repeat(33), "abcde", "é", "ab cd"])(
    "rejects the badly encoded key %j",
    async (key) => {
      const { seal } = await initialized(3, 2);
      seal.seal();
      await expectBadRequest(seal.submitShare(key), "'key' must be a valid hex or base64 string");
      expect(seal.status().progress).toBe(0);
    },
  );

  it("answers unchanged when already unsealed, and refuses before init", async () => {
    const { seal, init } = await initialized(3, 2);
    expect(await seal.submitShare(init.keys[0]!)).toMatchObject({ sealed: false, progress: 0 });
    await expectBadRequest(manager().seal.submitShare(init.keys[0]!), "Vault is not initialized");
  });

  it("wipes progress when sealing", async () => {
    const { seal, barrier, init } = await initialized(3, 2);
    seal.seal();
    await seal.submitShare(init.keys[0]!);
    seal.seal();
    expect(seal.status()).toMatchObject({ sealed: true, progress: 0, nonce: "" });
    expect(barrier.sealed).toBe(true);
  });
});

describe("restart", () => {
  it("reopens a sqlite directory and unseals with threshold shares", async () => {
    const dir = mkdtempSync(join(tmpdir(), "strongroom-seal-"));
    dirs.push(dir);
    const first = manager(openSqliteStore(dir, "file"));
    const init = await first.seal.initialize({ secret_shares: 5, secret_threshold: 3 });
    const tx = first.barrier.begin();
    tx.putJSON("logical/uuid/data/app", { password: "hunter2" });
    await tx.commit();
    first.seal.seal();
    await first.physical.close();

    const second = manager(openSqliteStore(dir, "raft"));
    expect(second.seal.status()).toMatchObject({ initialized: true, sealed: true, t: 3, n: 5 });
    expect(() => second.barrier.begin()).toThrow(VaultError);
    await second.seal.submitShare(init.keys[4]!);
    await second.seal.submitShare(init.keys_base64[1]!);
    expect(second.seal.status().sealed).toBe(true);
    expect((await second.seal.submitShare(init.keys[2]!)).sealed).toBe(false);
    expect(second.barrier.begin().getJSON("logical/uuid/data/app")).toEqual({
      password: "hunter2",
    });
    await second.physical.close();
  });
});

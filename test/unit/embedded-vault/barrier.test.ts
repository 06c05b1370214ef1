import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VaultError } from "../../../src/embedded-vault/errors.js";
import {
  Barrier,
  KEYRING_PATH,
  ROOT_KEY_PATH,
  SEAL_CONFIG_PATH,
  writePlain,
} from "../../../src/embedded-vault/storage/barrier.js";
import {
  createMemoryStore,
  openSqliteStore,
  SQLITE_FILE_NAME,
} from "../../../src/embedded-vault/storage/physical.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) =>
  value === undefined ? undefined : new TextDecoder().decode(value);

const tempDir = useTempDirs("strongroom-barrier-");

async function freshBarrier() {
  const physical = createMemoryStore();
  const barrier = new Barrier(physical);
  const { unsealKey } = await barrier.initialize();
  return { physical, barrier, unsealKey };
}

function expectSealedError(action: () => unknown): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(VaultError);
    expect((error as VaultError).status).toBe(503);
    return;
  }
  throw new Error("expected a sealed error");
}

describe("Barrier", () => {
  it("is unsealed after initialize and round-trips values", async () => {
    const { barrier } = await freshBarrier();
    expect(barrier.sealed).toBe(false);
    const tx = barrier.begin();
    tx.put("logical/a", bytes("secret"));
    tx.putJSON("sys/b", { n: 1 });
    await tx.commit();
    const next = barrier.begin();
    expect(text(next.get("logical/a"))).toBe("secret");
    expect(next.getJSON("sys/b")).toEqual({ n: 1 });
    expect(next.get("missing")).toBeUndefined();
    expect(next.getJSON("missing")).toBeUndefined();
  });

  it("round-trips arbitrary keys and values", async () => {
    const { barrier } = await freshBarrier();
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1 }), fc.uint8Array(), async (key, value) => {
        const tx = barrier.begin();
        tx.put(`p/${key}`, value);
        await tx.commit();
        expect(barrier.begin().get(`p/${key}`)).toEqual(value);
      }),
      { numRuns: 50 },
    );
  });

  it("stores only ciphertext bound to its key", async () => {
    const { physical, barrier } = await freshBarrier();
    const tx = barrier.begin();
    tx.put("a", bytes("value"));
    await tx.commit();
    const entry = physical.get("a")!;
    expect(entry[0]).toBe(1);
    expect(new DataView(entry.buffer, entry.byteOffset).getUint32(1)).toBe(1);
    expect(entry.length).toBe(1 + 4 + 24 + 5 + 16);
    expect(Buffer.from(entry).includes("value")).toBe(false);
  });

  it("refuses a ciphertext copied to another key in sqlite", async () => {
    const dir = tempDir();
    const physical = openSqliteStore(dir, "file");
    const barrier = new Barrier(physical);
    const { unsealKey } = await barrier.initialize();
    await writePlain(physical, SEAL_CONFIG_PATH, bytes("{}"));
    const tx = barrier.begin();
    tx.put("logical/a", bytes("alpha"));
    tx.put("logical/b", bytes("beta"));
    await tx.commit();
    await physical.close();

    const db = new Database(join(dir, SQLITE_FILE_NAME));
    db.prepare(
      "UPDATE kv SET value = (SELECT value FROM kv WHERE key = 'logical/a') WHERE key = 'logical/b'",
    ).run();
    db.close();

    const reopened = openSqliteStore(dir, "file");
    const again = new Barrier(reopened);
    again.unseal(unsealKey);
    const read = again.begin();
    expect(text(read.get("logical/a"))).toBe("alpha");
    expect(() => read.get("logical/b")).toThrow(
      "barrier: entry at logical/b failed authentication",
    );
    await reopened.close();
  });

  it("detects a tampered ciphertext", async () => {
    const { physical, barrier } = await freshBarrier();
    const tx = barrier.begin();
    tx.put("a", bytes("value"));
    await tx.commit();
    const entry = physical.get("a")!.slice();
    entry[entry.length - 1]! ^= 1;
    await physical.commit(new Map([["a", entry]]));
    expect(() => barrier.begin().get("a")).toThrow("barrier: entry at a failed authentication");
  });

  it("unseals with the right key only", async () => {
    const { physical, barrier, unsealKey } = await freshBarrier();
    const tx = barrier.begin();
    tx.put("k", bytes("v"));
    await tx.commit();
    barrier.seal();

    const wrong = unsealKey.slice();
    wrong[0]! ^= 1;
    expect(() => barrier.unseal(wrong)).toThrow(/unseal key is not valid/);
    expect(barrier.sealed).toBe(true);
    expect(() => barrier.unseal(new Uint8Array(32))).toThrow(Error);
    expect(barrier.sealed).toBe(true);

    barrier.unseal(unsealKey);
    expect(barrier.sealed).toBe(false);
    expect(text(barrier.begin().get("k"))).toBe("v");
    expect(() => new Barrier(createMemoryStore()).unseal(unsealKey)).toThrow(/not initialized/);
    expect(physical.get(ROOT_KEY_PATH)).toBeDefined();
  });

  it("wipes its keys when sealed and answers 503", async () => {
    const { barrier } = await freshBarrier();
    const state = barrier.unsealedState();
    const dataKey = state.keyring.keys.get(1)!;
    const rootKey = state.rootKey;
    const open = barrier.begin();
    open.put("x", bytes("y"));

    barrier.seal();
    expect(barrier.sealed).toBe(true);
    expect(dataKey.every((b) => b === 0)).toBe(true);
    expect(rootKey.every((b) => b === 0)).toBe(true);
    expectSealedError(() => barrier.begin());
    expectSealedError(() => open.get("other"));
    expectSealedError(() => open.list(""));
    await expect(open.commit()).rejects.toMatchObject({ status: 503 });
    await expect(barrier.rotate()).rejects.toMatchObject({ status: 503 });
  });

  it("rotates to a new term and still reads older entries", async () => {
    const { physical, barrier, unsealKey } = await freshBarrier();
    const first = barrier.begin();
    first.put("old", bytes("1"));
    await first.commit();
    await barrier.rotate();
    expect(barrier.activeTerm).toBe(2);
    const second = barrier.begin();
    second.put("new", bytes("2"));
    await second.commit();
    const termOf = (key: string) => new DataView(physical.get(key)!.buffer).getUint32(1);
    expect(termOf("old")).toBe(1);
    expect(termOf("new")).toBe(2);

    barrier.seal();
    barrier.unseal(unsealKey);
    expect(barrier.activeTerm).toBe(2);
    const read = barrier.begin();
    expect(text(read.get("old"))).toBe("1");
    expect(text(read.get("new"))).toBe("2");
  });

  it("refuses to initialize twice", async () => {
    const { physical, barrier } = await freshBarrier();
    await writePlain(physical, SEAL_CONFIG_PATH, bytes("{}"));
    await expect(barrier.initialize()).rejects.toThrow("barrier: already initialized");
    await expect(writePlain(physical, "other", bytes("x"))).rejects.toThrow(/plaintext/);
  });
});

describe("Transaction", () => {
  it("reads its own staged writes and deletes before commit", async () => {
    const { physical, barrier } = await freshBarrier();
    const setup = barrier.begin();
    setup.put("a/1", bytes("one"));
    setup.put("a/2", bytes("two"));
    await setup.commit();

    const tx = barrier.begin();
    expect(tx.dirty).toBe(false);
    tx.put("a/3", bytes("three"));
    tx.delete("a/1");
    tx.put("a/sub/4", bytes("four"));
    expect(tx.dirty).toBe(true);
    expect(text(tx.get("a/3"))).toBe("three");
    expect(tx.get("a/1")).toBeUndefined();
    expect(tx.list("a/")).toEqual(["2", "3", "sub/"]);
    expect(tx.listRecursive("a/")).toEqual(["a/2", "a/3", "a/sub/4"]);

    // Not visible outside the transaction until it commits.
    expect(barrier.begin().get("a/3")).toBeUndefined();
    expect(physical.get("a/1")).toBeDefined();

    const durable = tx.commit();
    expect(tx.dirty).toBe(false);
    expect(text(barrier.begin().get("a/3"))).toBe("three");
    expect(barrier.begin().get("a/1")).toBeUndefined();
    await durable;
  });

  it("gives sub-views onto the same transaction", async () => {
    const { barrier } = await freshBarrier();
    const tx = barrier.begin();
    const mount = tx.sub("logical/uuid/");
    mount.putJSON("data/app", { v: 1 });
    mount.sub("data/").put("db", bytes("x"));
    expect(tx.getJSON("logical/uuid/data/app")).toEqual({ v: 1 });
    expect(mount.list("")).toEqual(["data/"]);
    expect(mount.list("data/")).toEqual(["app", "db"]);
    expect(mount.listRecursive("")).toEqual(["data/app", "data/db"]);
    expect(mount.sub("data/").listRecursive("")).toEqual(["app", "db"]);
    mount.delete("data/db");
    expect(tx.get("logical/uuid/data/db")).toBeUndefined();
    await tx.commit();
    expect(barrier.begin().sub("logical/uuid/").listRecursive("")).toEqual(["data/app"]);
  });

  it("copies values on put", async () => {
    const { barrier } = await freshBarrier();
    const tx = barrier.begin();
    const value = bytes("abc");
    tx.put("k", value);
    value[0] = 0;
    expect(text(tx.get("k"))).toBe("abc");
  });

  it("commits nothing when clean", async () => {
    const { physical, barrier } = await freshBarrier();
    const before = physical.keys("");
    await barrier.begin().commit();
    expect(physical.keys("")).toEqual(before);
  });

  it("hides and protects the barrier's own entries", async () => {
    const { barrier } = await freshBarrier();
    const tx = barrier.begin();
    tx.putJSON("core/mounts", []);
    expect(tx.list("core/")).toEqual(["mounts"]);
    expect(tx.listRecursive("")).toEqual(["core/mounts"]);
    expect(tx.get(KEYRING_PATH)).toBeUndefined();
    expect(() => tx.put(KEYRING_PATH, bytes("x"))).toThrow(/reserved/);
    expect(() => tx.delete(ROOT_KEY_PATH)).toThrow(/reserved/);
  });
});

describe("sqlite files", () => {
  it("never contain a written value or the unseal key in plaintext", async () => {
    const dir = tempDir();
    const physical = openSqliteStore(dir, "file");
    const barrier = new Barrier(physical);
    const { unsealKey } = await barrier.initialize();
    const marker = "MARKER-9f3a1c-plaintext-must-not-appear";
    const tx = barrier.begin();
    tx.put("logical/secret", bytes(marker));
    tx.putJSON("logical/json", { password: marker });
    await tx.commit();

    const files = () => readdirSync(dir).map((name) => readFileSync(join(dir, name)));
    const check = () => {
      for (const content of files()) {
        expect(content.includes(marker)).toBe(false);
        expect(content.includes(Buffer.from(unsealKey))).toBe(false);
      }
    };
    check(); // WAL still holds the data here
    await physical.close();
    check();
  });
});

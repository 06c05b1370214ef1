import { statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createMemoryStore,
  openSqliteStore,
  type PhysicalStore,
  prefixUpperBound,
  SQLITE_FILE_NAME,
} from "../../../src/embedded-vault/storage/physical.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) =>
  value === undefined ? undefined : new TextDecoder().decode(value);

const tempDir = useTempDirs("strongroom-physical-");

const factories: Array<[string, () => PhysicalStore]> = [
  ["memory", () => createMemoryStore()],
  ["sqlite", () => openSqliteStore(tempDir(), "file")],
];

describe.each(factories)("%s store", (_name, open) => {
  it("round-trips, overwrites and deletes", async () => {
    const store = open();
    await store.commit(new Map([["a", bytes("1")]]));
    expect(text(store.get("a"))).toBe("1");
    await store.commit(new Map([["a", bytes("2")]]));
    expect(text(store.get("a"))).toBe("2");
    await store.commit(new Map([["a", null]]));
    expect(store.get("a")).toBeUndefined();
    expect(store.get("never")).toBeUndefined();
    await store.close();
  });

  it("lists exactly the keys under a prefix, sorted", async () => {
    const store = open();
    const keys = ["a/b", "a/a/c", "a0", "a", "b/x", "a/\u{1F511}", "a/\uffff", "a/z"];
    await store.commit(new Map(keys.map((key) => [key, bytes(key)])));
    expect(store.keys("a/")).toEqual(["a/a/c", "a/b", "a/z", "a/\u{1F511}", "a/\uffff"].sort());
    expect(store.keys("")).toEqual([...keys].sort());
    expect(store.keys("a/a/")).toEqual(["a/a/c"]);
    expect(store.keys("zzz")).toEqual([]);
    await store.close();
  });

  it("matches a Map model under random batches", async () => {
    const key = fc.constantFrom("x", "x/1", "x/2", "x/y/3", "y", "y/1", "xx");
    const batch = fc.array(fc.tuple(key, fc.option(fc.string(), { nil: null })), {
      maxLength: 6,
    });
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { maxLength: 8 }), async (batches) => {
        const store = open();
        const model = new Map<string, string>();
        const pending: Promise<void>[] = [];
        for (const writes of batches) {
          const map = new Map(writes.map(([k, v]) => [k, v === null ? null : bytes(v)]));
          pending.push(store.commit(map));
          for (const [k, v] of map) {
            if (v === null) model.delete(k);
            else model.set(k, text(v)!);
          }
          for (const prefix of ["", "x", "x/", "y/"]) {
            const expected = [...model.keys()].filter((k) => k.startsWith(prefix)).sort();
            expect(store.keys(prefix)).toEqual(expected);
          }
          for (const [k, v] of model) expect(text(store.get(k))).toBe(v);
        }
        await Promise.all(pending);
        for (const [k, v] of model) expect(text(store.get(k))).toBe(v);
        await store.close();
      }),
      { numRuns: 25 },
    );
  });
});

describe("sqlite store", () => {
  it("reports its kind and creates private files", async () => {
    const dir = join(tempDir(), "nested");
    const store = openSqliteStore(dir, "raft");
    expect(store.kind).toBe("raft");
    await store.commit(new Map([["k", bytes("v")]]));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, SQLITE_FILE_NAME)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, `${SQLITE_FILE_NAME}-wal`)).mode & 0o777).toBe(0o600);
    await store.close();
    expect(createMemoryStore().kind).toBe("inmem");
  });

  it("shows staged writes and deletes before they are durable", async () => {
    const dir = tempDir();
    const store = openSqliteStore(dir, "file");
    await store.commit(new Map([["gone", bytes("old")]]));
    const observer = new Database(join(dir, SQLITE_FILE_NAME), { readonly: true });
    const onDisk = (key: string) => observer.prepare("SELECT 1 FROM kv WHERE key = ?").get(key);

    const durable = store.commit(
      new Map<string, Uint8Array | null>([
        ["new", bytes("v")],
        ["gone", null],
      ]),
    );
    expect(text(store.get("new"))).toBe("v");
    expect(store.get("gone")).toBeUndefined();
    expect(store.keys("")).toEqual(["new"]);
    expect(onDisk("new")).toBeUndefined();
    expect(onDisk("gone")).toBeDefined();

    await durable;
    expect(onDisk("new")).toBeDefined();
    expect(onDisk("gone")).toBeUndefined();
    observer.close();
    await store.close();
  });

  it("keeps 200 concurrent commits across close and reopen", async () => {
    const dir = tempDir();
    const store = openSqliteStore(dir, "file");
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.commit(new Map([[`k/${i}`, bytes(`v${i}`)]]))),
    );
    await store.close();
    const reopened = openSqliteStore(dir, "file");
    expect(reopened.keys("k/")).toHaveLength(200);
    for (let i = 0; i < 200; i++) expect(text(reopened.get(`k/${i}`))).toBe(`v${i}`);
    await reopened.close();
  });

  it("flushes pending batches on close", async () => {
    const dir = tempDir();
    const store = openSqliteStore(dir, "file");
    const durable = store.commit(new Map([["late", bytes("v")]]));
    await store.close();
    await durable;
    await expect(store.commit(new Map([["x", bytes("v")]]))).rejects.toThrow(/closed/);
    const reopened = openSqliteStore(dir, "file");
    expect(text(reopened.get("late"))).toBe("v");
    await reopened.close();
  });

  it("rejects every batch of a failed flush and forgets them", async () => {
    const dir = tempDir();
    const store = openSqliteStore(dir, "file");
    const good = store.commit(new Map([["good", bytes("v")]]));
    // A NULL primary key violates WITHOUT ROWID's NOT NULL and fails the whole transaction.
    const bad = store.commit(new Map([[null as unknown as string, bytes("v")]]));
    await expect(good).rejects.toThrow("physical: commit to sqlite failed");
    await expect(bad).rejects.toThrow("physical: commit to sqlite failed");
    expect(store.get("good")).toBeUndefined();
    await store.commit(new Map([["after", bytes("v")]]));
    await store.close();
    const reopened = openSqliteStore(dir, "file");
    expect(reopened.keys("")).toEqual(["after"]);
    await reopened.close();
  });
});

describe("prefixUpperBound", () => {
  it("bounds exactly the strings that start with the prefix", () => {
    expect(prefixUpperBound("")).toBeUndefined();
    expect(prefixUpperBound("a/")).toBe("a0");
    expect(prefixUpperBound("\u{10FFFF}")).toBeUndefined();
    expect(prefixUpperBound("a\u{10FFFF}")).toBe("b");
    expect(prefixUpperBound("\ud7ff")).toBe("\ue000");
  });
});

import { describe, expect, it } from "vitest";
import type { KeyManager } from "../../../drivers/types.js";
import { createSeedJournal } from "../../../src/broker/seed-journal.js";
import { recoverSeed, type SeedDeps, seedSecrets } from "../../../src/broker/seed-secrets.js";
import { parseManifest } from "../../../src/config/manifest.js";
import { createMemoryKeyManager } from "../../helpers/memory-key-manager.js";
import { createMemoryRecordStore } from "../../helpers/memory-record-store.js";
import { waitFor } from "../../helpers/ports.js";

const manifest = parseManifest("deployment: {name: overcloud}\n", "manifest.yaml");
const BULK = 2_500;
const bulk = Object.fromEntries(Array.from({ length: BULK }, (_, i) => [`Bulk${i}`, `v-${i}`]));
const request = (values: Record<string, string>) => ({
  text: JSON.stringify(values),
  file: "bulk.json",
  format: "json",
  generate: false,
  dryRun: false,
});

/** A key manager whose writes stop answering after `after` of them: the process froze or died. */
function freezingAfter(inner: KeyManager, after: number): KeyManager {
  let writes = 0;
  return {
    ...inner,
    put: (id, value, options) =>
      ++writes > after ? new Promise(() => {}) : inner.put(id, value, options),
  };
}

/** Waits until the frozen seed has written its last secret. */
const frozenAt = (store: KeyManager, count: number) =>
  waitFor(async () => (await store.list()).length >= count, {
    timeoutMs: 30_000,
    what: `${count} secrets written`,
  });

function depsOf(keyManager: KeyManager, records = createMemoryRecordStore()): SeedDeps {
  return {
    manifest,
    keyManager,
    checkDeliverable: async () => {},
    afterWrite: async () => {},
    journal: createSeedJournal(records),
  };
}

describe("a seed across a crash", () => {
  it("the next run removes what a seed that never ended wrote, and nothing else", async () => {
    const store = createMemoryKeyManager({ Earlier: "kept" });
    const records = createMemoryRecordStore();
    void seedSecrets(depsOf(freezingAfter(store, 1_000), records), request(bulk));
    await frozenAt(store, 1_001);
    const partial = (await store.list()).length - 1;
    expect(partial).toBeGreaterThanOrEqual(1_000);
    expect(partial).toBeLessThan(BULK);
    expect(records.entries.has("seed/journal")).toBe(true);

    const recovered = await recoverSeed(depsOf(store, records));
    expect(recovered).toMatchObject({
      file: "bulk.json",
      secrets: BULK,
      removed: partial,
      kept: [],
    });
    expect(await store.list()).toEqual(["Earlier"]);
    expect([...records.entries.keys()], "the journal is gone").toEqual([]);
    expect(await recoverSeed(depsOf(store, records))).toBeUndefined();
  });

  it("keeps, and names, a secret changed after the unfinished seed wrote it", async () => {
    const store = createMemoryKeyManager();
    const records = createMemoryRecordStore();
    void seedSecrets(depsOf(freezingAfter(store, 10), records), request(bulk));
    await frozenAt(store, 10);
    const [first] = await store.list();
    await store.put(first!, "changed", { cas: 1 });
    const recovered = await recoverSeed(depsOf(store, records));
    expect(recovered?.kept).toEqual([first]);
    expect(await store.list()).toEqual([first]);
  });

  it("a seed refuses to start beside an unfinished one, and rolls it back first", async () => {
    const store = createMemoryKeyManager();
    const records = createMemoryRecordStore();
    void seedSecrets(depsOf(freezingAfter(store, 10), records), request(bulk));
    await frozenAt(store, 10);
    const report = await seedSecrets(depsOf(store, records), request(bulk));
    expect(report.recovered).toMatchObject({ removed: 10 });
    expect(report.written).toBe(BULK);
    expect((await store.list()).length).toBe(BULK);
    expect(records.entries.has("seed/journal")).toBe(false);
  });

  it("reports an input value that differs from the stored one by name, and keeps the stored one", async () => {
    const store = createMemoryKeyManager({ Same: "a", Other: "b" });
    const report = await seedSecrets(depsOf(store), request({ Same: "a", Other: "B", New: "c" }));
    expect(report.entries).toEqual([
      { name: "Same", action: "keep" },
      { name: "Other", action: "differs" },
      { name: "New", action: "import" },
    ]);
    expect(JSON.stringify(report)).not.toContain('"B"');
    expect((await store.get("Other"))?.value).toBe("b");
  });
});

/**
 * The change feed and the shared fetch log of serve replicas, on one in-memory record store
 * standing for the Vault they share (KV versions as Vault's KV v2).
 */
import { describe, expect, it } from "vitest";
import { createChangeFeed } from "../../../src/broker/change-feed.js";
import { createSharedFetchLog } from "../../../src/broker/shared-fetches.js";
import { createMemoryRecordStore } from "../../helpers/memory-record-store.js";

function replicaFeed(
  records: ReturnType<typeof createMemoryRecordStore>,
  name: string,
  clock = { now: 0 },
) {
  const dropped: Array<readonly string[] | "all"> = [];
  const feed = createChangeFeed({
    records,
    replica: name,
    pollMs: 1_000,
    freshMs: 60_000,
    refreshMs: 300_000,
    invalidate: (names) => dropped.push(names ?? "all"),
    now: () => clock.now,
  });
  return { feed, dropped };
}

describe("change feed", () => {
  it("a write published by replica A drops exactly those secrets on replica B at B's next poll", async () => {
    const vault = createMemoryRecordStore();
    const a = replicaFeed(vault, "a");
    const b = replicaFeed(vault, "b");
    await b.feed.poll(); // takes the feed's position
    await a.feed.publish(["NovaPassword"]);
    expect(b.dropped).toEqual([]);
    await b.feed.poll();
    expect(b.dropped).toEqual([["NovaPassword"]]);
    await b.feed.poll();
    expect(b.dropped).toHaveLength(1);
  });

  it("several writes between two polls drop everything; so does the periodic refresh", async () => {
    const vault = createMemoryRecordStore();
    const clock = { now: 0 };
    const a = replicaFeed(vault, "a", clock);
    const b = replicaFeed(vault, "b", clock);
    await b.feed.poll();
    await a.feed.publish(["X"]);
    await a.feed.publish(["Y"]);
    await b.feed.poll();
    expect(b.dropped).toEqual(["all"]);
    clock.now = 300_000;
    await b.feed.poll();
    expect(b.dropped).toEqual(["all", "all"]);
  });

  it("marks the published secrets fresh on both replicas, for the freshness window only", async () => {
    const vault = createMemoryRecordStore();
    const clock = { now: 0 };
    const a = replicaFeed(vault, "a", clock);
    const b = replicaFeed(vault, "b", clock);
    await b.feed.poll();
    await a.feed.publish(["X"]);
    expect(a.feed.isFresh("X")).toBe(true);
    expect(b.feed.isFresh("X")).toBe(false);
    await b.feed.poll();
    expect(b.feed.isFresh("X")).toBe(true);
    clock.now = 60_001;
    expect(b.feed.isFresh("X")).toBe(false);
  });
});

describe("shared fetch log", () => {
  const fetchOf = (versions: Record<string, number>) => ({
    service: "nova",
    identity: "nova",
    via: "certificate" as const,
    what: "ini" as const,
    versions,
  });

  it("a fetch of a fresh version on replica C reaches a rotation waiting on replica B; a fetch of a settled version writes nothing", async () => {
    const vault = createMemoryRecordStore();
    const fresh = new Set<string>();
    const log = (replica: string) =>
      createSharedFetchLog({
        records: vault,
        replica,
        isFresh: (secret) => fresh.has(secret),
        markFresh: (secret) => fresh.add(secret),
        pollMs: 10,
      });
    const b = log("b");
    const c = log("c");

    c.record(fetchOf({ NovaPassword: 1 }));
    await new Promise((r) => setTimeout(r, 20));
    expect([...vault.entries.keys()].filter((k) => k.startsWith("fetches/"))).toEqual([]);

    const since = Date.now();
    const waiting = b.waitForFetch("nova", "NovaPassword", 2, since, AbortSignal.timeout(5_000));
    fresh.add("NovaPassword");
    c.record(fetchOf({ NovaPassword: 2 }));
    const seen = await waiting;
    expect(seen).toMatchObject({ identity: "nova", versions: { NovaPassword: 2 } });
    expect([...vault.entries.keys()].filter((k) => k.startsWith("fetches/"))).toEqual([
      "fetches/nova/c",
    ]);
  });

  it("a version newer than any the replica saw marks the secret fresh (a commit it has not heard of yet)", async () => {
    const marked: string[] = [];
    const log = createSharedFetchLog({
      records: createMemoryRecordStore(),
      replica: "c",
      isFresh: () => false,
      markFresh: (secret) => marked.push(secret),
      pollMs: 10,
    });
    log.record(fetchOf({ NovaPassword: 1 }));
    log.record(fetchOf({ NovaPassword: 1 }));
    expect(marked).toEqual([]);
    log.record(fetchOf({ NovaPassword: 2 }));
    expect(marked).toEqual(["NovaPassword"]);
  });

  it("waiting ends with undefined when the signal aborts", async () => {
    const log = createSharedFetchLog({
      records: createMemoryRecordStore(),
      replica: "b",
      isFresh: () => true,
      markFresh: () => {},
      pollMs: 10,
    });
    const seen = await log.waitForFetch("nova", "X", 1, 0, AbortSignal.timeout(50));
    expect(seen).toBeUndefined();
  });
});

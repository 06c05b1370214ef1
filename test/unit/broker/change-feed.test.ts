/**
 * The change feed and the shared fetch log of serve replicas, on one in-memory record store
 * standing for the Vault they share (KV versions as Vault's KV v2).
 */
import { describe, expect, it } from "vitest";
import { createChangeFeed } from "../../../src/broker/change-feed.js";
import { createSharedFetchLog, WAIT_LEASE_MS } from "../../../src/broker/shared-fetches.js";
import { DEPLOYMENT_KEYS } from "../../../src/vault/kv-layout.js";
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
});

describe("shared fetch log", () => {
  const fetchOf = (versions: Record<string, number>) => ({
    service: "nova",
    identity: "nova",
    via: "certificate" as const,
    what: "ini" as const,
    versions,
  });
  const sharedKeys = (vault: ReturnType<typeof createMemoryRecordStore>) =>
    [...vault.entries.keys()].filter((k) => k.startsWith("fetches/"));
  const listedWaits = (vault: ReturnType<typeof createMemoryRecordStore>) =>
    (vault.entries.get(DEPLOYMENT_KEYS.fetchWaits)?.data.waits ?? []) as Array<{
      replica: string;
      service: string;
    }>;
  const replicaLog = (
    vault: ReturnType<typeof createMemoryRecordStore>,
    replica: string,
    now?: () => number,
  ) => createSharedFetchLog({ records: vault, replica, pollMs: 10, ...(now && { now }) });
  const until = async (condition: () => boolean) => {
    for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  };

  it("writes nothing to Vault while no rotation waits, whatever the fetches carry", async () => {
    const vault = createMemoryRecordStore();
    const c = replicaLog(vault, "c");
    await c.pollWaits();
    c.record(fetchOf({ NovaPassword: 1 }));
    c.record(fetchOf({ NovaPassword: 7 }));
    await new Promise((r) => setTimeout(r, 20));
    expect(sharedKeys(vault)).toEqual([]);
    expect(c.of("nova")).toHaveLength(2);
  });

  it("a fetch on replica C reaches the rotation waiting on replica B once C has read B's wait", async () => {
    const vault = createMemoryRecordStore();
    const b = replicaLog(vault, "b");
    const c = replicaLog(vault, "c");
    const waiting = b.waitForFetch(
      "nova",
      "NovaPassword",
      2,
      Date.now(),
      AbortSignal.timeout(5_000),
    );
    await until(() => listedWaits(vault).length === 1);
    expect(listedWaits(vault)[0]).toMatchObject({ replica: "b", service: "nova" });
    await c.pollWaits();
    c.record(fetchOf({ NovaPassword: 1 })); // the old version: not what B waits for
    c.record(fetchOf({ NovaPassword: 2 }));
    const seen = await waiting;
    expect(seen).toMatchObject({ identity: "nova", versions: { NovaPassword: 2 } });
    expect(sharedKeys(vault)).toEqual(["fetches/nova/c"]);
    const written = vault.entries.get("fetches/nova/c")?.data.fetches as unknown[];
    expect(written).toHaveLength(1);
    expect(listedWaits(vault)).toEqual([]);
  });

  it("a replica that hears of a wait late shares the matching fetch it already served", async () => {
    const vault = createMemoryRecordStore();
    const b = replicaLog(vault, "b");
    const c = replicaLog(vault, "c");
    const since = Date.now();
    const waiting = b.waitForFetch("nova", "NovaPassword", 2, since, AbortSignal.timeout(5_000));
    c.record(fetchOf({ NovaPassword: 2 })); // before C read the waits
    await new Promise((r) => setTimeout(r, 20));
    expect(sharedKeys(vault)).toEqual([]);
    await until(() => listedWaits(vault).length === 1);
    await c.pollWaits();
    expect(await waiting).toMatchObject({ versions: { NovaPassword: 2 } });
  });

  it("lists concurrent waits of two replicas (check-and-set) and ignores a wait whose lease ran out", async () => {
    const vault = createMemoryRecordStore();
    const clock = { now: Date.now() };
    const b = replicaLog(vault, "b", () => clock.now);
    const d = replicaLog(vault, "d", () => clock.now);
    const c = replicaLog(vault, "c", () => clock.now);
    const stop = new AbortController();
    const waits = [
      b.waitForFetch("nova", "NovaPassword", 2, clock.now, stop.signal),
      d.waitForFetch("nova", "NovaPassword", 2, clock.now, stop.signal),
    ];
    await until(() => listedWaits(vault).length === 2);
    expect(
      listedWaits(vault)
        .map((w) => w.replica)
        .sort(),
    ).toEqual(["b", "d"]);
    clock.now += WAIT_LEASE_MS + 1; // both replicas killed: nobody renews
    await c.pollWaits();
    c.record(fetchOf({ NovaPassword: 2 }));
    await new Promise((r) => setTimeout(r, 20));
    expect(sharedKeys(vault)).toEqual([]);
    stop.abort();
    expect(await Promise.all(waits)).toEqual([undefined, undefined]);
  });

  it("waiting ends with undefined when the signal aborts, and its wait is no longer listed", async () => {
    const vault = createMemoryRecordStore();
    const log = replicaLog(vault, "b");
    const seen = await log.waitForFetch("nova", "X", 1, 0, AbortSignal.timeout(50));
    expect(seen).toBeUndefined();
    expect(listedWaits(vault)).toEqual([]);
  });
});

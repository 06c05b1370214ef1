/**
 * The fetch log of serve replicas sharing one Vault. A restarted consumer may fetch its config
 * from any replica, while the rotation waiting for that fetch runs on one of them. Lookups stay
 * free of Vault writes unless a rotation waits: a waiting replica lists its wait in one KV entry
 * (`fetch-waits`, check-and-set, each wait under a lease it renews), every replica reads that
 * entry every `pollMs`, and only fetches matching a listed wait are written to Vault (coalesced
 * per service: at most one write in flight per service and replica). A replica that hears of a
 * wait late writes the matching fetches it already served, so none is missed. The waiting
 * replica watches its own log and reads the others' records every `pollMs` while it waits.
 */

import { ERRORS } from "../lib/errors.js";
import { createFetchLog, type FetchLog, type FetchRecord, fetchMatches } from "../lib/fetch-log.js";
import { DEPLOYMENT_KEYS } from "../vault/kv-layout.js";
import type { RecordStore } from "../vault/record-store.js";

/** Fetches kept per service and replica in Vault: enough for one rollout's instances. */
const KEEP_SHARED = 16;
/** A wait whose replica stopped renewing it (killed) is ignored after this. */
export const WAIT_LEASE_MS = 5 * 60_000;
/** Attempts at a check-and-set of the waits entry before giving up (then: warned, not fatal). */
const CAS_ATTEMPTS = 8;

interface FetchWait {
  id: string;
  replica: string;
  service: string;
  secret: string;
  version: number;
  since: number;
  expiresAt: number;
}

export interface SharedFetchLogOptions {
  records: RecordStore;
  /** A path segment naming this replica. */
  replica: string;
  /** How often the waits are read, and a waiting rotation reads the others' fetches. */
  pollMs: number;
  onError?(error: Error): void;
  now?: () => number;
}

export interface SharedFetchLog extends FetchLog {
  /** Reads the waits listed in Vault once now (the poller calls it). */
  pollWaits(): Promise<void>;
  /** Starts reading the waits every `pollMs`; returns the function that stops it. */
  start(): () => void;
}

const isWait = (value: unknown): value is FetchWait => {
  const w = value as FetchWait;
  return (
    typeof w?.id === "string" &&
    typeof w.service === "string" &&
    typeof w.secret === "string" &&
    typeof w.version === "number" &&
    typeof w.since === "number" &&
    typeof w.expiresAt === "number"
  );
};

export function createSharedFetchLog(options: SharedFetchLogOptions): SharedFetchLog {
  const { records, replica } = options;
  const now = options.now ?? Date.now;
  const local = createFetchLog(now);
  /** The waits of every replica, as last read (plus this replica's own, at once). */
  let waits: FetchWait[] = [];
  const shared = new Map<string, FetchRecord[]>();
  const writing = new Set<string>();
  const pending = new Set<string>();
  let polling: Promise<void> | undefined;
  let nextWaitId = 0;

  const flush = async (service: string): Promise<void> => {
    if (writing.has(service)) {
      pending.add(service);
      return;
    }
    writing.add(service);
    try {
      do {
        pending.delete(service);
        const fetches = shared.get(service) ?? [];
        await records
          .write(DEPLOYMENT_KEYS.fetches(service, replica), { fetches: [...fetches] })
          .catch((error: Error) => options.onError?.(error));
      } while (pending.has(service));
    } finally {
      writing.delete(service);
    }
  };

  const awaited = (fetch: FetchRecord) =>
    waits.some(
      (w) =>
        w.service === fetch.service &&
        w.expiresAt > now() &&
        fetchMatches(fetch, w.secret, w.version, w.since),
    );

  /** Shares `fetches` (already in the local log) that some wait is for; one write per service. */
  const share = (fetches: readonly FetchRecord[]) => {
    const touched = new Set<string>();
    for (const fetch of fetches) {
      if (!awaited(fetch)) continue;
      const list = shared.get(fetch.service) ?? [];
      if (list.includes(fetch)) continue;
      list.push(fetch);
      if (list.length > KEEP_SHARED) list.shift();
      shared.set(fetch.service, list);
      touched.add(fetch.service);
    }
    for (const service of touched) void flush(service);
  };

  /** Read-modify-write of the waits entry, check-and-set; expired waits are dropped on the way. */
  const updateWaits = async (change: (current: FetchWait[]) => FetchWait[]) => {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const entry = await records.readVersioned(DEPLOYMENT_KEYS.fetchWaits);
      const listed = Array.isArray(entry?.data.waits) ? entry.data.waits.filter(isWait) : [];
      const next = change(listed.filter((w) => w.expiresAt > now()));
      try {
        await records.write(DEPLOYMENT_KEYS.fetchWaits, { waits: next }, entry?.version ?? 0);
        return;
      } catch (error) {
        if (!ERRORS.STRONGROOM_ERR_CAS_MISMATCH.is(error)) throw error;
      }
    }
    throw ERRORS.STRONGROOM_ERR_CAS_MISMATCH(
      `${DEPLOYMENT_KEYS.fetchWaits}: still changing after ${CAS_ATTEMPTS} attempts`,
    );
  };

  const readWaits = async () => {
    const entry = await records.read(DEPLOYMENT_KEYS.fetchWaits);
    const listed = Array.isArray(entry?.waits) ? entry.waits.filter(isWait) : [];
    const mine = waits.filter((w) => w.replica === replica);
    const known = new Set(waits.map((w) => w.id));
    waits = [...listed.filter((w) => w.replica !== replica), ...mine];
    // Heard of late: the fetches this replica served before it knew are shared now.
    for (const wait of waits) {
      if (!known.has(wait.id)) share(local.of(wait.service));
    }
  };

  const pollWaits = () => {
    polling ??= readWaits()
      .catch((error: Error) => options.onError?.(error))
      .finally(() => {
        polling = undefined;
      });
    return polling;
  };

  const readShared = async (service: string): Promise<FetchRecord[]> => {
    const folder = DEPLOYMENT_KEYS.fetchesFolderOf(service);
    const names = await records.list(folder);
    const found = await Promise.all(
      names
        .filter((name) => name !== replica && !name.endsWith("/"))
        .map((name) => records.read(`${folder}/${name}`).catch(() => undefined)),
    );
    return found.flatMap((data) =>
      Array.isArray(data?.fetches) ? (data.fetches as FetchRecord[]) : [],
    );
  };

  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });

  const pollShared = async (
    service: string,
    secret: string,
    version: number,
    since: number,
    signal: AbortSignal,
  ): Promise<FetchRecord | undefined> => {
    while (!signal.aborted) {
      const seen = (await readShared(service).catch(() => [])).find((f) =>
        fetchMatches(f, secret, version, since),
      );
      if (seen) return seen;
      await sleep(options.pollMs, signal);
    }
    return undefined;
  };

  /** Lists `wait` in Vault while `signal` is not aborted, renewing its lease. */
  const listWhileWaiting = async (wait: FetchWait, signal: AbortSignal) => {
    const renewEvery = WAIT_LEASE_MS / 2;
    while (!signal.aborted) {
      wait.expiresAt = now() + WAIT_LEASE_MS;
      await updateWaits((current) => [...current.filter((w) => w.id !== wait.id), wait]).catch(
        (error: Error) => options.onError?.(error),
      );
      await sleep(renewEvery, signal);
    }
  };

  return {
    record(fetch) {
      local.record(fetch);
      const recorded = local.of(fetch.service);
      share(recorded.slice(-1));
    },
    of: (service) => local.of(service),
    async waitForFetch(service, secret, version, since, signal) {
      const done = new AbortController();
      const both = AbortSignal.any([signal, done.signal]);
      const wait: FetchWait = {
        id: `${replica}:${process.pid}:${++nextWaitId}`,
        replica,
        service,
        secret,
        version,
        since,
        expiresAt: now() + WAIT_LEASE_MS,
      };
      waits.push(wait);
      const listing = listWhileWaiting(wait, both);
      try {
        return await Promise.race([
          local.waitForFetch(service, secret, version, since, both),
          pollShared(service, secret, version, since, both),
        ]);
      } finally {
        done.abort();
        waits = waits.filter((w) => w !== wait);
        await listing;
        await updateWaits((current) => current.filter((w) => w.id !== wait.id)).catch(
          (error: Error) => options.onError?.(error),
        );
      }
    },
    pollWaits,
    start() {
      void pollWaits();
      const timer = setInterval(() => void pollWaits(), options.pollMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

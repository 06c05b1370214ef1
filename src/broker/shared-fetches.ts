/**
 * The fetch log of serve replicas sharing one Vault. A restarted consumer may fetch its config
 * from any replica, while the rotation waiting for that fetch runs on one of them. Lookups stay
 * free of Vault writes: a replica writes a fetch to Vault only when it carries a version that
 * changed recently (the change feed's `isFresh`: the window in which rotations wait), coalesced
 * per service (at most one write in flight per service and replica, the latest fetches in it).
 * A rotation waiting for a fetch watches its own replica's log and reads the others' records
 * every `pollMs` while it waits.
 */
import { createFetchLog, type FetchLog, type FetchRecord, fetchMatches } from "../lib/fetch-log.js";
import { DEPLOYMENT_KEYS } from "../vault/kv-layout.js";
import type { RecordStore } from "../vault/record-store.js";

/** Fetches kept per service and replica in Vault: enough for one rollout's instances. */
const KEEP_SHARED = 16;

export interface SharedFetchLogOptions {
  records: RecordStore;
  /** A path segment naming this replica. */
  replica: string;
  isFresh(secret: string): boolean;
  /** Called when a fetch carries a version newer than any this replica saw of that secret. */
  markFresh(secret: string): void;
  pollMs: number;
  onError?(error: Error): void;
}

export function createSharedFetchLog(options: SharedFetchLogOptions): FetchLog {
  const { records, replica } = options;
  const local = createFetchLog();
  const highest = new Map<string, number>();
  const shared = new Map<string, FetchRecord[]>();
  const writing = new Set<string>();
  const pending = new Set<string>();

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

  const isNewer = (secret: string, version: number) => {
    const before = highest.get(secret);
    highest.set(secret, Math.max(before ?? 0, version));
    return before !== undefined && version > before;
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
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return undefined;
  };

  return {
    record(fetch) {
      local.record(fetch);
      let fresh = false;
      for (const [secret, version] of Object.entries(fetch.versions)) {
        if (isNewer(secret, version)) options.markFresh(secret);
        if (options.isFresh(secret)) fresh = true;
      }
      if (!fresh) return;
      const list = shared.get(fetch.service) ?? [];
      list.push({ ...fetch, at: Date.now() });
      if (list.length > KEEP_SHARED) list.shift();
      shared.set(fetch.service, list);
      void flush(fetch.service);
    },
    of: (service) => local.of(service),
    async waitForFetch(service, secret, version, since, signal) {
      const done = new AbortController();
      const both = AbortSignal.any([signal, done.signal]);
      try {
        const first = await Promise.race([
          local.waitForFetch(service, secret, version, since, both),
          pollShared(service, secret, version, since, both),
        ]);
        return first;
      } finally {
        done.abort();
      }
    },
  };
}

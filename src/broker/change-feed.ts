/**
 * How serve replicas sharing one Vault learn about each other's writes. Every write through a
 * replica publishes the secrets it changed as a new version of one KV v2 entry (`changes`); every
 * replica reads that entry every `pollMs` (one small read per replica per interval, whatever the
 * lookup load) and drops what it cached about the named secrets. A version jump larger than one
 * (several writes between two polls) or a recreated entry drops everything. A write through one
 * replica is therefore served by every other one within `pollMs` plus one Vault read. Every
 * `refreshMs` a replica drops everything anyway: a write made straight to Vault (or by a replica
 * killed between its write and its publish) is served within that bound.
 */
import { DEPLOYMENT_KEYS } from "../vault/kv-layout.js";
import type { RecordStore } from "../vault/record-store.js";

export interface ChangeFeed {
  /** Publishes the secrets a write changed. */
  publish(names: readonly string[]): Promise<void>;
  /** Reads the feed once now (the poller calls it); resolves once invalidations are done. */
  poll(): Promise<void>;
  /** Starts polling every `pollMs`; returns the function that stops it. */
  start(): () => void;
}

export interface ChangeFeedOptions {
  records: RecordStore;
  /** Who publishes (kept in the entry, for diagnostics). */
  replica: string;
  pollMs: number;
  /** Everything cached is dropped this often, whatever the feed says. */
  refreshMs: number;
  /** Drops cached entries of the named secrets; everything when `names` is undefined. */
  invalidate(names?: readonly string[]): void;
  onError?(error: Error): void;
  now?: () => number;
}

export function createChangeFeed(options: ChangeFeedOptions): ChangeFeed {
  const { records } = options;
  const now = options.now ?? Date.now;
  let seen: number | undefined;
  let refreshedAt = now();
  let polling: Promise<void> | undefined;

  const readOnce = async () => {
    if (now() - refreshedAt >= options.refreshMs) {
      refreshedAt = now();
      options.invalidate();
    }
    const entry = await records.readVersioned(DEPLOYMENT_KEYS.changes);
    const version = entry?.version ?? 0;
    if (seen === undefined) {
      // The first read only takes the feed's position: nothing was cached before it.
      seen = version;
      return;
    }
    if (version === seen) return;
    const names = Array.isArray(entry?.data.names)
      ? entry.data.names.filter((n): n is string => typeof n === "string")
      : [];
    if (version === seen + 1 && entry) options.invalidate(names);
    else options.invalidate();
    seen = version;
  };

  const poll = () => {
    polling ??= readOnce()
      .catch((error: Error) => options.onError?.(error))
      .finally(() => {
        polling = undefined;
      });
    return polling;
  };

  return {
    async publish(names) {
      if (names.length === 0) return;
      await records.write(DEPLOYMENT_KEYS.changes, {
        names: [...names],
        by: options.replica,
        at: new Date(now()).toISOString(),
      });
    },
    poll,
    start() {
      void poll();
      const timer = setInterval(() => void poll(), options.pollMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

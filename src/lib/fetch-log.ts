/**
 * Which service identity fetched which secret versions, and when: every `remote_file` INI,
 * whole-service JSON and file set the broker hands to a service is recorded here. A rotation
 * counts a restarted consumer as moved only once it fetched a config carrying the new version:
 * oslo.config's `remote_file` source only logs a failed download and carries on with defaults,
 * so a consumer restarted while the broker was unreachable would otherwise look healthy.
 */
import { EventEmitter, on } from "node:events";

export interface FetchRecord {
  service: string;
  /** Who fetched: the service's mTLS certificate CN or its AppRole token ("nova"). */
  identity: string;
  /** How it authenticated. */
  via: "certificate" | "token";
  /** What it fetched: "ini", "json" or "files". */
  what: "ini" | "json" | "files";
  /** Unix ms. */
  at: number;
  /** The version of each secret the fetched document carried. */
  versions: Readonly<Record<string, number>>;
}

export interface FetchLog {
  record(fetch: Omit<FetchRecord, "at">): void;
  /** Fetches of `service`, oldest first (at most the last few per service). */
  of(service: string): readonly FetchRecord[];
  /**
   * The first fetch of `service` at or after `since` (unix ms) carrying `secret` at `version`
   * or later; undefined when `signal` aborts first.
   */
  waitForFetch(
    service: string,
    secret: string,
    version: number,
    since: number,
    signal: AbortSignal,
  ): Promise<FetchRecord | undefined>;
}

/** Whether `fetch` is one a rotation waits for: at or after `since`, `secret` at `version` or later. */
export const fetchMatches = (fetch: FetchRecord, secret: string, version: number, since: number) =>
  fetch.at >= since && (fetch.versions[secret] ?? 0) >= version;

/** Per service: enough for every instance of a rollout to be found. */
const KEEP_PER_SERVICE = 64;

export function createFetchLog(now: () => number = Date.now): FetchLog {
  const byService = new Map<string, FetchRecord[]>();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  return {
    record(fetch) {
      const entry: FetchRecord = { ...fetch, at: now() };
      const list = byService.get(fetch.service) ?? [];
      list.push(entry);
      if (list.length > KEEP_PER_SERVICE) list.shift();
      byService.set(fetch.service, list);
      events.emit("fetch", entry);
    },
    of: (service) => byService.get(service) ?? [],
    async waitForFetch(service, secret, version, since, signal) {
      const seen = (byService.get(service) ?? []).find((f) =>
        fetchMatches(f, secret, version, since),
      );
      if (seen) return seen;
      try {
        for await (const [fetch] of on(events, "fetch", { signal })) {
          const f = fetch as FetchRecord;
          if (f.service === service && fetchMatches(f, secret, version, since)) return f;
        }
      } catch (error) {
        if (!signal.aborted) throw error;
      }
      return undefined;
    },
  };
}

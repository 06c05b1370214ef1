import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";

/** Byte-level key/value storage underneath the barrier. Every value it holds is already encrypted. */
export interface PhysicalStore {
  /** Reported as storage_type by sys/seal-status. */
  readonly kind: "inmem" | "file" | "raft";
  /** Sees writes staged by commit() even before they are durable. */
  get(key: string): Uint8Array | undefined;
  /** Sorted full keys starting with prefix (also sees staged writes and deletes). */
  keys(prefix: string): string[];
  /**
   * null = delete. Staged (visible to get/keys) synchronously at call time; resolves once
   * durable; all-or-nothing.
   */
  commit(writes: ReadonlyMap<string, Uint8Array | null>): Promise<void>;
  /** Flushes pending batches first. */
  close(): Promise<void>;
}

export const SQLITE_FILE_NAME = "strongroom-vault.db";

/**
 * Bounds of the read cache of committed rows (ciphertext, as on disk). Only this process
 * writes the database, so a row changes only in `flush()`, which updates the cache.
 */
const ROW_CACHE_ENTRIES = 16_384;
const ROW_CACHE_BYTES = 32 * 1024 * 1024;

export function createMemoryStore(): PhysicalStore {
  const data = new Map<string, Uint8Array>();
  let closed = false;
  return {
    kind: "inmem",
    get: (key) => data.get(key),
    keys: (prefix) => [...data.keys()].filter((key) => key.startsWith(prefix)).sort(),
    commit(writes) {
      if (closed) return Promise.reject(closedError());
      for (const [key, value] of writes) {
        if (value === null) data.delete(key);
        else data.set(key, value);
      }
      return Promise.resolve();
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}

export function openSqliteStore(dir: string, kind: "file" | "raft"): PhysicalStore {
  return new SqliteStore(dir, kind);
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

class SqliteStore implements PhysicalStore {
  private readonly db: Database.Database;
  private readonly selectValue: Database.Statement<[string], Buffer>;
  private readonly selectAllKeys: Database.Statement<[], string>;
  private readonly selectKeysFrom: Database.Statement<[string], string>;
  private readonly selectKeysBetween: Database.Statement<[string, string], string>;
  private readonly writeBatch: (writes: ReadonlyMap<string, Uint8Array | null>) => void;
  /** Every batch committed since the last flush, merged; a null hides the row. */
  private overlay = new Map<string, Uint8Array | null>();
  /**
   * Committed rows already read or written, null for a known-absent key. An SQLite point
   * read costs tens of microseconds on a busy server, more than the rest of a KV read.
   */
  private readonly rows = new Map<string, Uint8Array | null>();
  private rowBytes = 0;
  private waiters: Waiter[] = [];
  private flushHandle: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(
    dir: string,
    readonly kind: "file" | "raft",
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, SQLITE_FILE_NAME);
    // Create the file ourselves so it is never world-readable, not even for a moment;
    // SQLite gives the -wal and -shm files the database file's mode.
    closeSync(openSync(file, "a", 0o600));
    chmodSync(file, 0o600);

    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    // A write answered 2xx must survive kill -9 and power loss: fsync the WAL on every commit.
    this.db.pragma("synchronous = FULL");
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
    );

    this.selectValue = this.db.prepare<[string], Buffer>("SELECT value FROM kv WHERE key = ?");
    this.selectValue.pluck();
    this.selectAllKeys = this.db.prepare<[], string>("SELECT key FROM kv");
    this.selectAllKeys.pluck();
    this.selectKeysFrom = this.db.prepare<[string], string>("SELECT key FROM kv WHERE key >= ?");
    this.selectKeysFrom.pluck();
    this.selectKeysBetween = this.db.prepare<[string, string], string>(
      "SELECT key FROM kv WHERE key >= ? AND key < ?",
    );
    this.selectKeysBetween.pluck();

    const upsert = this.db.prepare<[string, Buffer]>(
      "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    );
    const remove = this.db.prepare<[string]>("DELETE FROM kv WHERE key = ?");
    this.writeBatch = this.db.transaction((writes: ReadonlyMap<string, Uint8Array | null>) => {
      for (const [key, value] of writes) {
        if (value === null) remove.run(key);
        else upsert.run(key, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      }
    });
  }

  get(key: string): Uint8Array | undefined {
    const staged = this.overlay.get(key);
    if (staged !== undefined) return staged ?? undefined;
    const cached = this.rows.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const value = this.selectValue.get(key);
    this.remember(key, value ?? null);
    return value;
  }

  private remember(key: string, value: Uint8Array | null): void {
    this.forget(key);
    const size = value === null ? 0 : value.byteLength;
    if (size > ROW_CACHE_BYTES / 64) return;
    if (this.rows.size >= ROW_CACHE_ENTRIES || this.rowBytes + size > ROW_CACHE_BYTES) {
      // Oldest first (a Map iterates in insertion order), a quarter of the cache at once: one
      // pass per many evictions, as a pass from the start of a Map that had its first entries
      // deleted has to skip over their slots.
      for (const [oldest] of this.rows) {
        const entriesFit = this.rows.size <= (ROW_CACHE_ENTRIES * 3) / 4;
        if (entriesFit && this.rowBytes + size <= (ROW_CACHE_BYTES * 3) / 4) break;
        this.forget(oldest);
      }
    }
    this.rows.set(key, value);
    this.rowBytes += size;
  }

  private forget(key: string): void {
    const previous = this.rows.get(key);
    if (previous === undefined) return;
    this.rows.delete(key);
    if (previous !== null) this.rowBytes -= previous.byteLength;
  }

  keys(prefix: string): string[] {
    const upper = prefixUpperBound(prefix);
    const stored =
      prefix === ""
        ? this.selectAllKeys.all()
        : upper === undefined
          ? this.selectKeysFrom.all(prefix)
          : this.selectKeysBetween.all(prefix, upper);
    if (this.overlay.size === 0) return stored.sort();
    const result = new Set(stored);
    for (const [key, value] of this.overlay) {
      if (!key.startsWith(prefix)) continue;
      if (value === null) result.delete(key);
      else result.add(key);
    }
    return [...result].sort();
  }

  commit(writes: ReadonlyMap<string, Uint8Array | null>): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    if (writes.size === 0) return Promise.resolve();
    for (const [key, value] of writes) this.overlay.set(key, value);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      // Group commit: every batch staged during this turn of the event loop shares one fsync.
      this.flushHandle ??= setImmediate(() => this.flush());
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.flushHandle !== undefined) {
      clearImmediate(this.flushHandle);
      this.flush();
    }
    this.closed = true;
    this.rows.clear();
    this.rowBytes = 0;
    this.db.close();
    return Promise.resolve();
  }

  private flush(): void {
    this.flushHandle = undefined;
    const writes = this.overlay;
    const waiters = this.waiters;
    this.overlay = new Map();
    this.waiters = [];
    try {
      this.writeBatch(writes);
    } catch (cause) {
      // The transaction rolled back; drop every cached row anyway rather than trust that.
      this.rows.clear();
      this.rowBytes = 0;
      const error = new Error("physical: commit to sqlite failed", { cause });
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    for (const [key, value] of writes) this.remember(key, value);
    for (const waiter of waiters) waiter.resolve();
  }
}

function closedError(): Error {
  return new Error("physical: store is closed");
}

/**
 * The smallest string above every string that starts with `prefix`, or undefined when there is
 * none. Bumping the last code point is exact because SQLite compares TEXT as UTF-8 bytes, whose
 * order is code point order (a fixed suffix such as "\uffff" would miss astral characters).
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const codePoints = [...prefix];
  while (codePoints.length > 0) {
    let next = codePoints.pop()!.codePointAt(0)! + 1;
    if (next === 0xd800) next = 0xe000;
    if (next <= 0x10ffff) return codePoints.join("") + String.fromCodePoint(next);
  }
  return undefined;
}

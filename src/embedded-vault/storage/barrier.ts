import { randomFillSync } from "node:crypto";
import { loadSodium } from "../../lib/sodium.js";
import { sealedError } from "../errors.js";
import type { StorageView } from "../types.js";
import type { PhysicalStore } from "./physical.js";
import { childrenOf, decodeJSON, encodeJSON } from "./view-helpers.js";

const sodium = await loadSodium();

export const ROOT_KEY_PATH = "core/root-key";
export const KEYRING_PATH = "core/keyring";
/** Plaintext: it must be readable while sealed. Holds only share counts and share digests. */
export const SEAL_CONFIG_PATH = "core/seal-config";
const RESERVED_PATHS = new Set([ROOT_KEY_PATH, KEYRING_PATH, SEAL_CONFIG_PATH]);

const FORMAT_VERSION = 1;
const KEY_BYTES = 32;
const NONCE_BYTES = 24;
const HEADER_BYTES = 1 + 4 + NONCE_BYTES;
/** Decrypted entries kept while unsealed (hot KV reads, tokens, policies); wiped on seal. */
const PLAINTEXT_CACHE_ENTRIES = 16_384;
/**
 * Parsed values kept next to cached plaintexts (see decryptFrozenJSON): only for entries up to
 * PARSED_ENTRY_MAX_BYTES, and for at most PARSED_CACHE_BYTES of plaintext in all.
 */
const PARSED_ENTRY_MAX_BYTES = 64 * 1024;
const PARSED_CACHE_BYTES = 16 * 1024 * 1024;

/** Term written in the header of entries sealed by the root key or the unseal key. */
const OUTER_TERM = 0;

// libsodium.js's randombytes_buf costs ~100 µs a call, which would cap writes near 5,000/s.
// Nonces are public, so drawing them from a refilled pool of OS randomness is just as safe.
const noncePool = new Uint8Array(NONCE_BYTES * 512);
let noncePoolOffset = noncePool.length;

function freshNonce(): Uint8Array {
  if (noncePoolOffset === noncePool.length) {
    randomFillSync(noncePool);
    noncePoolOffset = 0;
  }
  noncePoolOffset += NONCE_BYTES;
  return noncePool.subarray(noncePoolOffset - NONCE_BYTES, noncePoolOffset);
}

/** version 1 | term (uint32 BE) | nonce | XChaCha20-Poly1305 ciphertext, bound to `path`. */
function encryptEntry(key: Uint8Array, term: number, path: string, plaintext: Uint8Array) {
  const nonce = freshNonce();
  const sealed = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
    plaintext,
    path,
    null,
    nonce,
    key,
  );
  const entry = new Uint8Array(HEADER_BYTES + sealed.length);
  entry[0] = FORMAT_VERSION;
  new DataView(entry.buffer).setUint32(1, term);
  entry.set(nonce, 5);
  entry.set(sealed, HEADER_BYTES);
  return entry;
}

function entryTerm(entry: Uint8Array): number | undefined {
  if (entry.length < HEADER_BYTES || entry[0] !== FORMAT_VERSION) return undefined;
  return new DataView(entry.buffer, entry.byteOffset, entry.byteLength).getUint32(1);
}

function decryptEntry(key: Uint8Array | undefined, path: string, entry: Uint8Array): Uint8Array {
  if (key !== undefined && entry.length >= HEADER_BYTES) {
    try {
      return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        null,
        entry.subarray(HEADER_BYTES),
        path,
        entry.subarray(5, HEADER_BYTES),
        key,
      );
    } catch {
      // Falls through to the uniform error below.
    }
  }
  return authFailed(path);
}

function authFailed(path: string): never {
  throw new Error(`barrier: entry at ${path} failed authentication`);
}

/** Data encryption keys by term; serialized as activeTerm | (term | key)* so no key is ever a JS string. */
class Keyring {
  constructor(
    readonly keys: Map<number, Uint8Array>,
    readonly activeTerm: number,
  ) {}

  static parse(bytes: Uint8Array): Keyring {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const keys = new Map<number, Uint8Array>();
    for (let offset = 4; offset + 4 + KEY_BYTES <= bytes.length; offset += 4 + KEY_BYTES) {
      keys.set(view.getUint32(offset), bytes.slice(offset + 4, offset + 4 + KEY_BYTES));
    }
    return new Keyring(keys, view.getUint32(0));
  }

  serialize(): Uint8Array {
    const bytes = new Uint8Array(4 + this.keys.size * (4 + KEY_BYTES));
    const view = new DataView(bytes.buffer);
    view.setUint32(0, this.activeTerm);
    let offset = 4;
    for (const [term, key] of this.keys) {
      view.setUint32(offset, term);
      bytes.set(key, offset + 4);
      offset += 4 + KEY_BYTES;
    }
    return bytes;
  }

  wipe(): void {
    for (const key of this.keys.values()) sodium.memzero(key);
    this.keys.clear();
  }
}

/** A cached decryption: the stored bytes it came from, and its parsed value once one was asked. */
interface CachedEntry {
  entry: Uint8Array;
  plain: Uint8Array;
  frozen?: unknown;
}

/**
 * Vault's barrier in miniature: data under a keyring of terms, the keyring under the root key,
 * the root key under the unseal key (which only exists in memory, rebuilt from Shamir shares).
 */
export class Barrier {
  private rootKey: Uint8Array | undefined;
  private keyring: Keyring | undefined;
  private readonly plaintexts = new Map<string, CachedEntry>();
  /** Plaintext bytes of the cached entries that also hold a parsed value. */
  private parsedBytes = 0;

  constructor(private readonly physical: PhysicalStore) {}

  get sealed(): boolean {
    return this.keyring === undefined;
  }

  get activeTerm(): number | undefined {
    return this.keyring?.activeTerm;
  }

  /** Creates the key hierarchy and leaves the barrier unsealed. The caller owns the unseal key. */
  async initialize(): Promise<{ unsealKey: Uint8Array }> {
    // A root key without a seal config is a half-finished initialization that may be redone.
    if (this.physical.get(SEAL_CONFIG_PATH) !== undefined) {
      throw new Error("barrier: already initialized");
    }
    const unsealKey = sodium.crypto_aead_xchacha20poly1305_ietf_keygen();
    const rootKey = sodium.crypto_aead_xchacha20poly1305_ietf_keygen();
    const keyring = new Keyring(
      new Map([[1, sodium.crypto_aead_xchacha20poly1305_ietf_keygen()]]),
      1,
    );
    const keyringBytes = keyring.serialize();
    const writes = new Map([
      [ROOT_KEY_PATH, encryptEntry(unsealKey, OUTER_TERM, ROOT_KEY_PATH, rootKey)],
      [KEYRING_PATH, encryptEntry(rootKey, OUTER_TERM, KEYRING_PATH, keyringBytes)],
    ]);
    sodium.memzero(keyringBytes);
    try {
      await this.physical.commit(writes);
    } catch (error) {
      sodium.memzero(unsealKey);
      sodium.memzero(rootKey);
      keyring.wipe();
      throw error;
    }
    this.seal();
    this.rootKey = rootKey;
    this.keyring = keyring;
    return { unsealKey };
  }

  /** Throws on a wrong unseal key and stays sealed. Does not keep or wipe `unsealKey`. */
  unseal(unsealKey: Uint8Array): void {
    if (!this.sealed) return;
    const sealedRoot = this.physical.get(ROOT_KEY_PATH);
    const sealedKeyring = this.physical.get(KEYRING_PATH);
    if (sealedRoot === undefined || sealedKeyring === undefined) {
      throw new Error("barrier: not initialized");
    }
    let rootKey: Uint8Array;
    try {
      rootKey = decryptEntry(unsealKey, ROOT_KEY_PATH, sealedRoot);
    } catch {
      throw new Error("barrier: unseal failed, the unseal key is not valid");
    }
    let keyringBytes: Uint8Array | undefined;
    try {
      keyringBytes = decryptEntry(rootKey, KEYRING_PATH, sealedKeyring);
      this.keyring = Keyring.parse(keyringBytes);
      this.rootKey = rootKey;
    } catch (error) {
      sodium.memzero(rootKey);
      throw error;
    } finally {
      if (keyringBytes !== undefined) sodium.memzero(keyringBytes);
    }
  }

  seal(): void {
    this.wipePlaintexts();
    if (this.rootKey !== undefined) sodium.memzero(this.rootKey);
    this.keyring?.wipe();
    this.rootKey = undefined;
    this.keyring = undefined;
  }

  /** Adds a new term; new writes use it, older entries stay readable. */
  async rotate(): Promise<void> {
    const { keyring, rootKey } = this.unsealedState();
    const previousTerm = keyring.activeTerm;
    const term = Math.max(...keyring.keys.keys()) + 1;
    keyring.keys.set(term, sodium.crypto_aead_xchacha20poly1305_ietf_keygen());
    const rotated = new Keyring(keyring.keys, term);
    const bytes = rotated.serialize();
    const entry = encryptEntry(rootKey, OUTER_TERM, KEYRING_PATH, bytes);
    sodium.memzero(bytes);
    this.keyring = rotated;
    try {
      await this.physical.commit(new Map([[KEYRING_PATH, entry]]));
    } catch (error) {
      // Only entries from the same failed flush can use the new term, and they failed too.
      if (this.keyring === rotated) {
        sodium.memzero(keyring.keys.get(term)!);
        keyring.keys.delete(term);
        this.keyring = new Keyring(keyring.keys, previousTerm);
      }
      throw error;
    }
  }

  /** A transaction over the whole barrier; reads see its own staged writes first. */
  begin(): Transaction {
    this.unsealedState();
    return new Transaction(new TransactionState(this, this.physical));
  }

  /** @internal Used by transactions. */
  encrypt(path: string, plaintext: Uint8Array): Uint8Array {
    const { keyring } = this.unsealedState();
    return encryptEntry(keyring.keys.get(keyring.activeTerm)!, keyring.activeTerm, path, plaintext);
  }

  /**
   * @internal Used by transactions. Hot entries are served from a cache of what was already
   * authenticated and decrypted, keyed by path and checked against the exact stored bytes, so
   * a changed entry is always decrypted (and authenticated) again. Sealing wipes the cache.
   * Callers treat the returned bytes as read-only.
   */
  decrypt(path: string, entry: Uint8Array): Uint8Array {
    return this.cachedEntry(path, entry).plain;
  }

  /**
   * @internal Used by transactions. `decrypt` parsed as JSON and deeply frozen; the parsed
   * value of a cached plaintext is kept with it, so readers of the same entry share it. Sealing
   * drops it with the plaintexts (strings cannot be zeroed, as for any value a request parsed).
   */
  decryptFrozenJSON(path: string, entry: Uint8Array): unknown {
    const cached = this.cachedEntry(path, entry);
    if ("frozen" in cached) return cached.frozen;
    const { plain } = cached;
    const frozen = deepFreeze(decodeJSON(plain));
    if (
      plain.length <= PARSED_ENTRY_MAX_BYTES &&
      this.parsedBytes + plain.length <= PARSED_CACHE_BYTES
    ) {
      cached.frozen = frozen;
      this.parsedBytes += plain.length;
    }
    return frozen;
  }

  /** The cache record of `entry` at `path`, decrypted (and authenticated) when not cached yet. */
  private cachedEntry(path: string, entry: Uint8Array): CachedEntry {
    const { keyring } = this.unsealedState();
    const cached = this.plaintexts.get(path);
    if (cached && Buffer.compare(cached.entry, entry) === 0) return cached;
    const term = entryTerm(entry);
    const plain = decryptEntry(
      term === undefined ? undefined : keyring.keys.get(term),
      path,
      entry,
    );
    if (this.plaintexts.size >= PLAINTEXT_CACHE_ENTRIES) this.wipePlaintexts();
    else if (cached && "frozen" in cached) this.parsedBytes -= cached.plain.length;
    const fresh: CachedEntry = { entry: Uint8Array.from(entry), plain };
    this.plaintexts.set(path, fresh);
    return fresh;
  }

  private wipePlaintexts(): void {
    for (const { plain } of this.plaintexts.values()) plain.fill(0);
    this.plaintexts.clear();
    this.parsedBytes = 0;
  }

  /** @internal Throws the 503 when sealed. */
  unsealedState(): { keyring: Keyring; rootKey: Uint8Array } {
    if (this.keyring === undefined || this.rootKey === undefined) throw sealedError();
    return { keyring: this.keyring, rootKey: this.rootKey };
  }
}

/** Staged writes shared by a transaction and every sub-view of it. Keys are full barrier paths. */
class TransactionState {
  readonly staged = new Map<string, Uint8Array | null>();

  constructor(
    readonly barrier: Barrier,
    readonly physical: PhysicalStore,
  ) {}

  get(path: string): Uint8Array | undefined {
    const staged = this.staged.get(path);
    if (staged !== undefined) return staged ?? undefined;
    const entry = this.committedEntry(path);
    return entry === undefined ? undefined : this.barrier.decrypt(path, entry);
  }

  getFrozenJSON(path: string): unknown {
    const staged = this.staged.get(path);
    if (staged !== undefined) return staged === null ? undefined : deepFreeze(decodeJSON(staged));
    const entry = this.committedEntry(path);
    return entry === undefined ? undefined : this.barrier.decryptFrozenJSON(path, entry);
  }

  /** The stored (encrypted) entry at `path`; reserved paths read as absent. */
  private committedEntry(path: string): Uint8Array | undefined {
    this.barrier.unsealedState();
    return RESERVED_PATHS.has(path) ? undefined : this.physical.get(path);
  }

  put(path: string, value: Uint8Array | null): void {
    if (RESERVED_PATHS.has(path)) throw new Error(`barrier: ${path} is reserved`);
    this.staged.set(path, value);
  }

  keys(prefix: string): string[] {
    this.barrier.unsealedState();
    const keys = this.physical.keys(prefix);
    const reservedMayShow = "core/".startsWith(prefix) || prefix.startsWith("core/");
    if (this.staged.size === 0 && !reservedMayShow) return keys;
    const result = new Set(keys);
    for (const path of RESERVED_PATHS) result.delete(path);
    for (const [path, value] of this.staged) {
      if (!path.startsWith(prefix)) continue;
      if (value === null) result.delete(path);
      else result.add(path);
    }
    return [...result].sort();
  }
}

class View implements StorageView {
  constructor(
    protected readonly state: TransactionState,
    private readonly prefix: string,
  ) {}

  get(key: string): Uint8Array | undefined {
    return this.state.get(this.prefix + key);
  }

  getJSON<T>(key: string): T | undefined {
    const bytes = this.get(key);
    return bytes === undefined ? undefined : decodeJSON<T>(bytes);
  }

  getFrozenJSON<T>(key: string): T | undefined {
    return this.state.getFrozenJSON(this.prefix + key) as T | undefined;
  }

  put(key: string, value: Uint8Array): void {
    this.state.put(this.prefix + key, value.slice());
  }

  putJSON(key: string, value: unknown): void {
    this.state.put(this.prefix + key, encodeJSON(value));
  }

  delete(key: string): void {
    this.state.put(this.prefix + key, null);
  }

  list(prefix: string): string[] {
    const full = this.prefix + prefix;
    return childrenOf(full, this.state.keys(full));
  }

  listRecursive(prefix: string): string[] {
    return this.state.keys(this.prefix + prefix).map((path) => path.slice(this.prefix.length));
  }

  sub(prefix: string): StorageView {
    return new View(this.state, this.prefix + prefix);
  }
}

export class Transaction extends View {
  constructor(state: TransactionState) {
    super(state, "");
  }

  get dirty(): boolean {
    return this.state.staged.size > 0;
  }

  /** Encrypts the staged writes and stages them in physical storage at once; resolves when durable. */
  commit(): Promise<void> {
    const { staged, barrier, physical } = this.state;
    if (staged.size === 0) return Promise.resolve();
    try {
      const writes = new Map<string, Uint8Array | null>();
      for (const [path, value] of staged) {
        writes.set(path, value === null ? null : barrier.encrypt(path, value));
      }
      staged.clear();
      return physical.commit(writes);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** Freezes a parsed JSON value and everything in it. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/** Reads an entry stored outside the barrier (only the seal config). */
export function readPlain(physical: PhysicalStore, path: string): Uint8Array | undefined {
  return physical.get(path);
}

/** Writes an entry outside the barrier; nothing but the seal config belongs there. */
export async function writePlain(
  physical: PhysicalStore,
  path: string,
  value: Uint8Array,
): Promise<void> {
  if (path !== SEAL_CONFIG_PATH) throw new Error(`barrier: ${path} may not be stored in plaintext`);
  await physical.commit(new Map([[path, value]]));
}

import { createHash, randomBytes } from "node:crypto";
import { badRequest } from "../errors.js";
import type { AuthResponse, StorageView, TokenEntry } from "../types.js";
import { parseDurationSeconds } from "./kv-time.js";

export interface TokenCreateParams {
  id?: string;
  policies?: string[];
  meta?: Record<string, string> | null;
  no_parent?: boolean;
  no_default_policy?: boolean;
  renewable?: boolean;
  ttl?: string | number;
  explicit_max_ttl?: string | number;
  display_name?: string;
  num_uses?: number;
  period?: string | number;
  type?: "service" | "batch";
  entity_alias?: string;
  path?: string;
  role_name?: string;
  /** Max TTL of the issuing auth method (AppRole's token_max_ttl); not shown as explicit_max_ttl. */
  max_ttl?: string | number;
}

export interface TokenCreateOptions {
  orphan?: boolean;
  path?: string;
  /** The caller holds sudo on the creating path (a root parent always counts as sudo). */
  sudo?: boolean;
}

/** What is persisted: the public entry plus renewal bookkeeping. */
interface StoredToken extends TokenEntry {
  max_ttl?: number;
  last_renewal_time?: number;
}

const HOUR = 3600;
const ID_PREFIX = "sys/token/id/";
const ACCESSOR_PREFIX = "sys/token/accessor/";
const PARENT_PREFIX = "sys/token/parent/";
const CACHE_LIMIT = 10_000;
const BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

const recentHashes = new Map<string, string>();
const RECENT_HASH_LIMIT = 4096;

/** SHA-256 of a token id; memoized because every request hashes its token to find it. */
export function hashTokenId(id: string): string {
  let hash = recentHashes.get(id);
  if (hash === undefined) {
    hash = createHash("sha256").update(id).digest("hex");
    if (recentHashes.size >= RECENT_HASH_LIMIT) recentHashes.clear();
    recentHashes.set(id, hash);
  }
  return hash;
}

/** Base62 (like Vault's ids) so ids never start with "-" or contain "_" that tools may mangle. */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 * 62: rejecting higher bytes keeps every character equally likely.
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

/**
 * A token endpoint's duration field, read by the one parser of Vault's ParseDurationSecond
 * (kv-time.ts) with these endpoints' rules: absent or blank is 0, surrounding spaces are
 * ignored, anything unparsable is a 400 "time: invalid duration", a negative value Vault's
 * "<name> must be positive".
 */
export function nonNegativeDuration(name: string, value: string | number | undefined): number {
  if (value === undefined || value === null) return 0;
  const text = typeof value === "string" ? value.trim() : value;
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined) {
    throw badRequest(`time: invalid duration ${JSON.stringify(String(text).slice(0, 64))}`);
  }
  if (seconds < 0) throw badRequest(`${name} must be positive`);
  return seconds;
}

/** Vault's SanitizePolicies: trimmed, lower-cased, deduplicated, sorted; "root" absorbs the rest. */
export function sanitizePolicies(policies: readonly string[], addDefault: boolean): string[] {
  const set = new Set<string>();
  for (const raw of policies) {
    const name = raw.trim().toLowerCase();
    if (name === "") continue;
    if (name === "root") return ["root"];
    set.add(name);
  }
  if (addDefault) set.add("default");
  return [...set].sort();
}

const rfc3339 = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();

export class TokenStore {
  private readonly defaultTtl: number;
  private readonly maxTtl: number;
  private readonly nowMs: () => number;
  private readonly cache = new Map<string, Readonly<StoredToken>>();
  /**
   * Hashes written in this event-loop turn. Their writes sit in a transaction that commits
   * after an await; caching what another transaction reads meanwhile could resurrect a
   * revoked token, so these are read through until the next turn.
   */
  private readonly recentlyWritten = new Set<string>();

  constructor(
    opts: { defaultTtlSeconds?: number; maxTtlSeconds?: number; now?: () => number } = {},
  ) {
    this.defaultTtl = opts.defaultTtlSeconds ?? 768 * HOUR;
    this.maxTtl = opts.maxTtlSeconds ?? 768 * HOUR;
    this.nowMs = opts.now ?? Date.now;
  }

  /** Drops every cached entry; for the core on seal and when a commit fails. */
  clearCache(): void {
    this.cache.clear();
  }

  createRoot(tx: StorageView, id?: string): TokenEntry {
    return this.create(
      tx,
      { id, policies: ["root"], display_name: "root", renewable: false },
      undefined,
      { orphan: true, path: "auth/token/root" },
    );
  }

  /**
   * `parent` undefined means the system issues the token (root generation, auth method logins):
   * no subset rule and always an orphan. Otherwise Vault's token-store rules apply.
   */
  create(
    tx: StorageView,
    params: TokenCreateParams,
    parent: TokenEntry | undefined,
    opts: TokenCreateOptions = {},
  ): TokenEntry {
    const now = this.nowSeconds();
    const parentIsRoot = parent?.policies.includes("root") ?? false;
    const sudo = parent === undefined || parentIsRoot || opts.sudo === true;

    if (parent?.type === "batch") throw badRequest("batch tokens cannot create more tokens");
    // A use-limited token could otherwise escape its limit through children.
    if (parent && parent.num_uses !== 0) {
      throw badRequest("restricted use token cannot generate child tokens");
    }

    const type = params.type ?? "service";
    if (type !== "service" && type !== "batch") throw badRequest("invalid 'token_type' value");
    const numUses = params.num_uses ?? 0;
    if (!Number.isInteger(numUses)) throw badRequest("num_uses must be an integer");
    if (numUses < 0) throw badRequest("number of uses cannot be negative");
    if (params.entity_alias) {
      throw badRequest("'entity_alias' is only allowed in combination with token role");
    }
    const explicitMaxTtl = nonNegativeDuration("explicit_max_ttl", params.explicit_max_ttl);
    const period = nonNegativeDuration("period", params.period);
    const requestedTtl = nonNegativeDuration("ttl", params.ttl);
    const maxTtl = nonNegativeDuration("max_ttl", params.max_ttl);
    if (type === "batch") {
      const set = { explicit_max_ttl: explicitMaxTtl, num_uses: numUses, period };
      const bad = Object.entries(set).find(([, value]) => value !== 0);
      if (bad) throw badRequest(`batch tokens cannot have "${bad[0]}" set`);
    }
    if (period > 0 && !sudo) {
      throw badRequest("root or sudo privileges required to create periodic token");
    }

    const policies = this.childPolicies(params, parent, sudo);
    if (policies.includes("root")) {
      if (parent && !parentIsRoot) {
        throw badRequest("root tokens may not be created without parent token being root");
      }
      if (type === "batch") throw badRequest("batch tokens cannot be root tokens");
    }

    let orphan = opts.orphan === true || parent === undefined;
    if (params.no_parent) {
      if (!sudo) throw badRequest("root or sudo privileges required to create orphan token");
      orphan = true;
    }

    const id = this.newId(tx, params.id, type, sudo);
    let ttl = requestedTtl;
    if (period > 0 || ttl > 0 || !policies.includes("root")) {
      ttl = this.calculateTtl({
        increment: 0,
        backendTtl: ttl,
        period,
        backendMaxTtl: maxTtl,
        explicitMaxTtl,
        start: now,
        now,
      });
    }
    if (ttl === 0 && explicitMaxTtl > 0) ttl = explicitMaxTtl;
    if (ttl === 0 && parent && parent.expire_time !== 0) {
      throw badRequest("expiring root tokens cannot create non-expiring root tokens");
    }
    if (parent && !orphan && !parentIsRoot) ttl = capToParent(ttl, parent, now);

    const renewable = type === "service" && ttl > 0 && (params.renewable ?? true);
    const entry: StoredToken = {
      id,
      accessor: type === "batch" ? "" : randomBase62(24),
      policies,
      meta: params.meta ?? null,
      display_name: displayName(params.display_name, parent !== undefined),
      path: opts.path ?? params.path ?? "auth/token/create",
      creation_time: now,
      creation_ttl: ttl,
      explicit_max_ttl: explicitMaxTtl,
      expire_time: ttl > 0 ? now + ttl : 0,
      num_uses: numUses,
      renewable,
      orphan,
      parent: orphan || !parent ? "" : hashTokenId(parent.id),
      period,
      type,
      entity_id: "",
    };
    if (params.role_name) entry.role_name = params.role_name;
    if (maxTtl > 0) entry.max_ttl = maxTtl;

    const hash = hashTokenId(id);
    // Parent index first: a dangling index is harmless, an unindexed child would escape revocation.
    if (entry.parent) tx.putJSON(`${PARENT_PREFIX}${entry.parent}/${hash}`, {});
    if (entry.accessor) tx.putJSON(ACCESSOR_PREFIX + entry.accessor, { hash });
    this.write(tx, hash, entry);
    return entry;
  }

  lookup(tx: StorageView, id: string): TokenEntry | undefined {
    if (typeof id !== "string" || id === "") return undefined;
    return this.lookupByHash(tx, hashTokenId(id));
  }

  lookupAccessor(tx: StorageView, accessor: string): TokenEntry | undefined {
    if (typeof accessor !== "string" || accessor === "" || accessor.includes("/")) return undefined;
    const index = tx.getJSON<{ hash: string }>(ACCESSOR_PREFIX + accessor);
    return index ? this.lookupByHash(tx, index.hash) : undefined;
  }

  /** Every accessor in the store (auth/token/accessors). */
  listAccessors(tx: StorageView): string[] {
    return tx.list(ACCESSOR_PREFIX).filter((key) => !key.endsWith("/"));
  }

  use(tx: StorageView, entry: TokenEntry): void {
    if (entry.num_uses <= 0) return;
    const hash = hashTokenId(entry.id);
    const current = this.lookupByHash(tx, hash);
    if (!current || current.num_uses <= 0) return;
    if (current.num_uses === 1) this.revokeByHash(tx, hash, false);
    else this.write(tx, hash, { ...current, num_uses: current.num_uses - 1 });
  }

  revoke(tx: StorageView, id: string, opts: { orphanChildren?: boolean } = {}): void {
    if (typeof id !== "string" || id === "") return;
    this.revokeByHash(tx, hashTokenId(id), opts.orphanChildren === true);
  }

  renew(tx: StorageView, entry: TokenEntry, incrementSeconds = 0): TokenEntry {
    const hash = hashTokenId(entry.id);
    const current = this.lookupByHash(tx, hash);
    if (!current) throw badRequest("token not found");
    if (current.type === "batch") throw badRequest("batch tokens cannot be renewed");
    if (!current.renewable || current.expire_time === 0) {
      throw badRequest("lease is not renewable");
    }
    if (!Number.isFinite(incrementSeconds) || incrementSeconds < 0) {
      throw badRequest("increment must be positive");
    }
    const now = this.nowSeconds();
    let ttl = this.calculateTtl({
      increment: Math.trunc(incrementSeconds),
      backendTtl: current.creation_ttl,
      period: current.period,
      backendMaxTtl: current.max_ttl ?? 0,
      explicitMaxTtl: current.explicit_max_ttl,
      start: current.creation_time,
      now,
    });
    if (current.parent) {
      const parent = this.lookupByHash(tx, current.parent);
      if (parent && !parent.policies.includes("root")) ttl = capToParent(ttl, parent, now);
    }
    const renewed: StoredToken = { ...current, expire_time: now + ttl, last_renewal_time: now };
    this.write(tx, hash, renewed);
    return renewed;
  }

  authResponse(entry: TokenEntry): AuthResponse {
    return {
      client_token: entry.id,
      accessor: entry.accessor,
      policies: [...entry.policies],
      token_policies: [...entry.policies],
      metadata: entry.meta === null ? null : { ...entry.meta },
      lease_duration: this.remainingTtl(entry),
      renewable: entry.renewable,
      entity_id: entry.entity_id,
      token_type: entry.type,
      orphan: entry.orphan,
      mfa_requirement: null,
      num_uses: entry.num_uses,
    };
  }

  lookupData(entry: TokenEntry): Record<string, unknown> {
    const stored = entry as StoredToken;
    const data: Record<string, unknown> = {
      accessor: entry.accessor,
      creation_time: entry.creation_time,
      creation_ttl: entry.creation_ttl,
      display_name: entry.display_name,
      entity_id: entry.entity_id,
      expire_time: entry.expire_time === 0 ? null : rfc3339(entry.expire_time),
      explicit_max_ttl: entry.explicit_max_ttl,
      id: entry.id,
      identity_policies: [],
      issue_time: rfc3339(entry.creation_time),
      meta: entry.meta,
      num_uses: entry.num_uses,
      orphan: entry.orphan,
      path: entry.path,
      policies: [...entry.policies],
      renewable: entry.renewable,
      ttl: this.remainingTtl(entry),
      type: entry.type,
    };
    if (entry.period > 0) data.period = entry.period;
    if (stored.last_renewal_time !== undefined) {
      data.last_renewal_time = stored.last_renewal_time;
      data.last_renewal = rfc3339(stored.last_renewal_time);
    }
    return data;
  }

  private nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  private remainingTtl(entry: TokenEntry): number {
    if (entry.expire_time === 0) return 0;
    return Math.max(0, entry.expire_time - this.nowSeconds());
  }

  private childPolicies(
    params: TokenCreateParams,
    parent: TokenEntry | undefined,
    sudo: boolean,
  ): string[] {
    const requested = sanitizePolicies(params.policies ?? [], false);
    let base = requested;
    let addDefault = !params.no_default_policy;
    if (parent && requested.length === 0) {
      base = sanitizePolicies(parent.policies, false);
      addDefault = false;
    } else if (parent && !sudo) {
      const allowed = new Set(sanitizePolicies(parent.policies, false));
      if (!requested.every((p) => allowed.has(p))) {
        throw badRequest("child policies must be subset of parent");
      }
      addDefault = addDefault && parent.policies.includes("default");
    }
    const policies = sanitizePolicies(base, addDefault);
    return params.no_default_policy ? policies.filter((p) => p !== "default") : policies;
  }

  private newId(tx: StorageView, custom: string | undefined, type: string, sudo: boolean): string {
    if (custom === undefined || custom === "") {
      return (type === "batch" ? "hvb." : "hvs.") + randomBase62(type === "batch" ? 32 : 24);
    }
    if (typeof custom !== "string") throw badRequest("id must be a string");
    if (!sudo) throw badRequest("root or sudo privileges required to specify token id");
    if (custom.startsWith("hvs."))
      throw badRequest("custom token ID cannot have the 'hvs.' prefix");
    if (custom.startsWith("s.")) throw badRequest("custom token ID cannot have the 's.' prefix");
    if (custom.includes(".")) throw badRequest("custom token ID cannot have a '.' in the value");
    if (tx.get(ID_PREFIX + hashTokenId(custom)) !== undefined) {
      throw badRequest("cannot create a token with a duplicate ID");
    }
    return custom;
  }

  /** Vault's framework.CalculateTTL, in whole seconds. */
  private calculateTtl(a: {
    increment: number;
    backendTtl: number;
    period: number;
    backendMaxTtl: number;
    explicitMaxTtl: number;
    start: number;
    now: number;
  }): number {
    let maxTtl = this.maxTtl;
    if (a.backendMaxTtl > 0 && a.backendMaxTtl < maxTtl) maxTtl = a.backendMaxTtl;
    if (a.explicitMaxTtl > 0 && a.explicitMaxTtl < maxTtl) maxTtl = a.explicitMaxTtl;
    let ttl: number;
    let maxValidUntil: number | undefined;
    if (a.period > 0) {
      ttl = Math.min(a.period, maxTtl);
      if (a.explicitMaxTtl > 0) maxValidUntil = a.start + a.explicitMaxTtl;
    } else {
      ttl = a.increment > 0 ? a.increment : a.backendTtl > 0 ? a.backendTtl : this.defaultTtl;
      maxValidUntil = a.start + maxTtl;
    }
    if (maxValidUntil !== undefined) {
      const maxValidTtl = maxValidUntil - a.now;
      if (maxValidTtl <= 0) throw badRequest("past the max TTL, cannot renew");
      ttl = Math.min(ttl, maxValidTtl);
    }
    return ttl;
  }

  private read(tx: StorageView, hash: string): Readonly<StoredToken> | undefined {
    const cached = this.cache.get(hash);
    if (cached) return cached;
    const stored = tx.getJSON<StoredToken>(ID_PREFIX + hash);
    if (!stored) return undefined;
    // Frozen so that a caller mutating the entry cannot silently change the cached token.
    Object.freeze(stored.policies);
    if (stored.meta) Object.freeze(stored.meta);
    const frozen = Object.freeze(stored);
    if (this.recentlyWritten.has(hash)) return frozen;
    if (this.cache.size >= CACHE_LIMIT) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(hash, frozen);
    return frozen;
  }

  private write(tx: StorageView, hash: string, entry: StoredToken): void {
    this.forget(hash);
    tx.putJSON(ID_PREFIX + hash, entry);
  }

  private forget(hash: string): void {
    this.cache.delete(hash);
    if (this.recentlyWritten.size === 0) {
      setImmediate(() => this.recentlyWritten.clear()).unref();
    }
    this.recentlyWritten.add(hash);
  }

  /** Expired tokens, and tokens whose parent is gone or expired, are revoked on sight. */
  private lookupByHash(tx: StorageView, hash: string): Readonly<StoredToken> | undefined {
    const entry = this.read(tx, hash);
    if (!entry) return undefined;
    if (entry.expire_time !== 0 && this.nowMs() >= entry.expire_time * 1000) {
      this.revokeByHash(tx, hash, false);
      return undefined;
    }
    if (entry.parent && !this.lookupByHash(tx, entry.parent)) {
      this.revokeByHash(tx, hash, false);
      return undefined;
    }
    return entry;
  }

  private revokeByHash(tx: StorageView, rootHash: string, orphanChildren: boolean): void {
    const pending = [rootHash];
    while (pending.length > 0) {
      const hash = pending.pop()!;
      const entry = this.read(tx, hash);
      this.forget(hash);
      if (entry) {
        tx.delete(ID_PREFIX + hash);
        if (entry.accessor) tx.delete(ACCESSOR_PREFIX + entry.accessor);
        if (entry.parent) tx.delete(`${PARENT_PREFIX}${entry.parent}/${hash}`);
      }
      const childPrefix = `${PARENT_PREFIX}${hash}/`;
      for (const child of tx.list(childPrefix)) {
        tx.delete(childPrefix + child);
        if (hash === rootHash && orphanChildren) this.orphan(tx, child);
        else pending.push(child);
      }
    }
  }

  private orphan(tx: StorageView, hash: string): void {
    const child = this.read(tx, hash);
    if (child) this.write(tx, hash, { ...child, parent: "", orphan: true });
  }
}

function capToParent(ttl: number, parent: TokenEntry, now: number): number {
  if (parent.expire_time === 0) return ttl;
  // At least one second: a TTL of 0 would mean "never expires".
  return Math.max(1, Math.min(ttl, parent.expire_time - now));
}

/** Token-backend names get Vault's "token-" prefix; names given by auth methods are kept. */
function displayName(requested: string | undefined, viaTokenBackend: boolean): string {
  if (!requested) return "token";
  if (!viaTokenBackend) return requested;
  return `token-${requested}`.replace(/[^a-zA-Z0-9-]/g, "-").replace(/-$/, "");
}

/**
 * Contracts shared by the embedded Vault-compatible server's parts: the HTTP layer, the core
 * (seal, router, auth, ACL, audit) and the logical backends (kv, token, approle, system).
 */

/** Vault's logical operations. POST/PUT become create or update after the existence check. */
export type Operation = "read" | "create" | "update" | "delete" | "list" | "patch";

/**
 * A view of barrier-encrypted storage inside one request's transaction. Reads see the
 * transaction's own staged writes. Keys are relative to the view's prefix. Everything is
 * synchronous so that a read-modify-write inside one handler cannot interleave with another
 * request; durability is awaited once, by the core, before the response is sent.
 */
export interface StorageView {
  get(key: string): Uint8Array | undefined;
  getJSON<T>(key: string): T | undefined;
  /**
   * Like getJSON, for callers that only read the value: it is deeply frozen and may be the
   * same object other readers of the entry get. Views may leave it out (use getJSON then).
   */
  getFrozenJSON?<T>(key: string): T | undefined;
  put(key: string, value: Uint8Array): void;
  putJSON(key: string, value: unknown): void;
  delete(key: string): void;
  /** Immediate children of `prefix` (which is "" or ends with "/"), folders with a trailing "/", sorted. */
  list(prefix: string): string[];
  /** Every key under `prefix`, relative to this view, sorted. */
  listRecursive(prefix: string): string[];
  sub(prefix: string): StorageView;
}

export interface MountEntry {
  /** Path with trailing slash: "secret/", "auth/approle/". */
  path: string;
  type: string;
  description: string;
  accessor: string;
  uuid: string;
  local: boolean;
  seal_wrap: boolean;
  options: Record<string, string> | null;
  config: Record<string, unknown>;
  /** Storage prefix of the backend inside the barrier, e.g. "logical/<uuid>/". */
  storagePrefix: string;
}

export interface TokenEntry {
  id: string;
  accessor: string;
  policies: string[];
  meta: Record<string, string> | null;
  display_name: string;
  path: string;
  /** Unix seconds. */
  creation_time: number;
  creation_ttl: number;
  explicit_max_ttl: number;
  /** Unix seconds; 0 means never expires. */
  expire_time: number;
  num_uses: number;
  renewable: boolean;
  orphan: boolean;
  parent: string;
  period: number;
  type: "service" | "batch";
  entity_id: string;
  /** AppRole or other auth method that issued it, for metadata. */
  role_name?: string;
}

export interface AuthResponse {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies: string[];
  identity_policies?: string[];
  metadata: Record<string, string> | null;
  lease_duration: number;
  renewable: boolean;
  entity_id: string;
  token_type: string;
  orphan: boolean;
  mfa_requirement: null;
  num_uses: number;
}

export interface RequestConnection {
  remoteAddress: string;
}

export interface LogicalRequest {
  id: string;
  operation: Operation;
  /** Path relative to the mount, without leading slash (e.g. "data/app/db"). */
  path: string;
  mount: MountEntry;
  data: Record<string, unknown>;
  query: Record<string, string>;
  /** Storage of this mount, in the request's transaction. */
  storage: StorageView;
  /** Root of the barrier, in the same transaction (for the token store, policies, mounts). */
  tx: StorageView;
  /** The caller's token, absent on unauthenticated paths. */
  token?: TokenEntry;
  connection: RequestConnection;
  now: Date;
}

export interface LogicalResponse {
  /** Defaults: 200 when anything is in the body, else 204. */
  status?: number;
  data?: Record<string, unknown> | null;
  auth?: AuthResponse | null;
  warnings?: string[];
  /** The envelope's lease_duration in seconds (KV v1 reports its TTL without a lease); default 0. */
  leaseDuration?: number;
  /** A bare JSON object sent as is (sys/init, sys/health, ...). */
  raw?: unknown;
}

/** A logical backend mounted at a path (secrets engine or auth method). */
export interface LogicalBackend {
  readonly type: string;
  /** Paths (relative to the mount) that need no token, e.g. "login". Trailing "*" is a prefix. */
  readonly unauthenticatedPaths?: readonly string[];
  /** Paths (relative to the mount) that need sudo on top of the capability. Trailing "*" is a prefix. */
  readonly sudoPaths?: readonly string[];
  /** Decides create vs update for POST/PUT; absent means "update". */
  exists?(req: LogicalRequest): boolean;
  handle(req: LogicalRequest): LogicalResponse | Promise<LogicalResponse>;
}

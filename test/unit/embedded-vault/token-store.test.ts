import { createHash } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { createTokenBackend } from "../../../src/embedded-vault/backends/token-backend.js";
import {
  nonNegativeDuration,
  TokenStore,
} from "../../../src/embedded-vault/backends/token-store.js";
import { VaultError } from "../../../src/embedded-vault/errors.js";
import type {
  LogicalRequest,
  MountEntry,
  Operation,
  StorageView,
  TokenEntry,
} from "../../../src/embedded-vault/types.js";
import { memoryStorageView } from "../../helpers/memory-storage-view.js";

const HOUR = 3600;
const T0 = 1_700_000_000_000;

let clock: number;
let tx: ReturnType<typeof memoryStorageView>;
let store: TokenStore;
let root: TokenEntry;

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

const advance = (seconds: number) => {
  clock += seconds * 1000;
};

function vaultError(fn: () => unknown): VaultError {
  try {
    fn();
  } catch (error) {
    if (error instanceof VaultError) return error;
    throw error;
  }
  throw new Error("expected a VaultError");
}

beforeEach(() => {
  clock = T0;
  tx = memoryStorageView();
  store = new TokenStore({ now: () => clock });
  root = store.createRoot(tx);
});

describe("token duration fields (nonNegativeDuration)", () => {
  it.each([
    ["1h30m", 5400],
    ["768h", 768 * HOUR],
    ["10s", 10],
    ["1.5h", 5400],
    ["300ms", 0],
    ["2d", 2 * 24 * HOUR],
    ["42", 42],
    [42, 42],
    ["", 0],
    [undefined, 0],
  ] as const)("%s → %d seconds", (input, seconds) => {
    expect(nonNegativeDuration("ttl", input)).toBe(seconds);
  });

  it.each(["abc", "1x", "h", "1h 2m", "--1s"])("rejects %s with 400", (input) => {
    expect(vaultError(() => nonNegativeDuration("ttl", input)).status).toBe(400);
  });

  it("refuses a negative duration with Vault's message", () => {
    const error = vaultError(() => nonNegativeDuration("ttl", "-1h"));
    expect(error.status).toBe(400);
    expect(error.message).toContain("ttl must be positive");
  });
});

describe("root tokens", () => {
  it("never expire, are orphans and not renewable", () => {
    expect(root.id).toMatch(/^hvs\.[A-Za-z0-9]{24,}$/);
    expect(root.accessor).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(root).toMatchObject({
      policies: ["root"],
      path: "auth/token/root",
      display_name: "root",
      creation_ttl: 0,
      expire_time: 0,
      renewable: false,
      orphan: true,
      type: "service",
    });
    advance(10_000 * HOUR);
    expect(store.lookup(tx, root.id)?.id).toBe(root.id);
    expect(vaultError(() => store.renew(tx, root)).errors).toEqual(["lease is not renewable"]);
  });

  it("accepts a custom id (dev mode) and refuses duplicates", () => {
    const dev = store.createRoot(tx, "devroot");
    expect(dev.id).toBe("devroot");
    expect(vaultError(() => store.createRoot(tx, "devroot")).errors).toEqual([
      "cannot create a token with a duplicate ID",
    ]);
  });

  it("lookupData has exactly Vault's fields", () => {
    const data = store.lookupData(root);
    expect(Object.keys(data).sort()).toEqual(
      [
        "accessor",
        "creation_time",
        "creation_ttl",
        "display_name",
        "entity_id",
        "expire_time",
        "explicit_max_ttl",
        "id",
        "identity_policies",
        "issue_time",
        "meta",
        "num_uses",
        "orphan",
        "path",
        "policies",
        "renewable",
        "ttl",
        "type",
      ].sort(),
    );
    expect(data).toMatchObject({ expire_time: null, ttl: 0, creation_time: T0 / 1000 });
  });
});

describe("storage layout", () => {
  it("keys never contain a token id", () => {
    const child = store.create(tx, { policies: ["web"] }, root);
    const keys = [...tx.store.keys()];
    for (const key of keys) {
      expect(key).not.toContain(root.id);
      expect(key).not.toContain(child.id);
    }
    const rootHash = createHash("sha256").update(root.id).digest("hex");
    const childHash = createHash("sha256").update(child.id).digest("hex");
    expect(keys.sort()).toEqual(
      [
        `sys/token/accessor/${child.accessor}`,
        `sys/token/accessor/${root.accessor}`,
        `sys/token/id/${childHash}`,
        `sys/token/id/${rootHash}`,
        `sys/token/parent/${rootHash}/${childHash}`,
      ].sort(),
    );
  });

  it("serves repeated lookups from the cache and sees revocations made through the store", async () => {
    let reads = 0;
    const counting: StorageView = {
      ...tx,
      getJSON: <T>(key: string) => {
        reads += 1;
        return tx.getJSON<T>(key);
      },
    };
    const child = store.create(tx, { policies: ["web"] }, root);
    await nextTurn();
    store.lookup(counting, child.id);
    const afterFirst = reads;
    for (let i = 0; i < 100; i++) store.lookup(counting, child.id);
    expect(reads).toBe(afterFirst);
    store.revoke(counting, child.id);
    expect(store.lookup(counting, child.id)).toBeUndefined();
  });

  it("does not cache what another transaction reads before a revocation commits", async () => {
    const committed = memoryStorageView();
    const child = store.create(committed, { policies: ["web"] }, undefined);
    await nextTurn();
    // The revoking transaction stages its deletes in a copy that is "committed" later.
    const staged = memoryStorageView(new Map(committed.store));
    store.revoke(staged, child.id);
    expect(store.lookup(committed, child.id)?.id).toBe(child.id);
    for (const [key] of committed.store) if (!staged.store.has(key)) committed.store.delete(key);
    expect(store.lookup(committed, child.id)).toBeUndefined();
  });
});

describe("policies", () => {
  it("inherits the parent's policies when none are given", () => {
    expect(store.create(tx, {}, root).policies).toEqual(["root"]);
    const web = store.create(tx, { policies: ["web"] }, root);
    expect(store.create(tx, {}, web).policies).toEqual(["default", "web"]);
  });

  it("adds default unless no_default_policy, lower-cases and sorts", () => {
    expect(store.create(tx, { policies: ["Web", "db"] }, root).policies).toEqual([
      "db",
      "default",
      "web",
    ]);
    expect(store.create(tx, { policies: ["web"], no_default_policy: true }, root).policies).toEqual(
      ["web"],
    );
  });

  it("a non-root caller may only hand out a subset of its own policies", () => {
    const web = store.create(tx, { policies: ["web", "db"] }, root);
    expect(store.create(tx, { policies: ["web"] }, web).policies).toEqual(["default", "web"]);
    const denied = vaultError(() => store.create(tx, { policies: ["admin"] }, web));
    expect(denied.status).toBe(400);
    expect(denied.errors).toEqual(["child policies must be subset of parent"]);
    expect(store.create(tx, { policies: ["admin"] }, web, { sudo: true }).policies).toEqual([
      "admin",
      "default",
    ]);
  });

  it("only a root parent can create root tokens", () => {
    const web = store.create(tx, { policies: ["web"] }, root);
    expect(
      vaultError(() => store.create(tx, { policies: ["root"] }, web, { sudo: true })).errors,
    ).toEqual(["root tokens may not be created without parent token being root"]);
  });

  it("custom ids, no_parent and periods need root or sudo", () => {
    const web = store.create(tx, { policies: ["web"] }, root);
    expect(vaultError(() => store.create(tx, { id: "mine" }, web)).errors).toEqual([
      "root or sudo privileges required to specify token id",
    ]);
    expect(vaultError(() => store.create(tx, { no_parent: true }, web)).errors).toEqual([
      "root or sudo privileges required to create orphan token",
    ]);
    expect(vaultError(() => store.create(tx, { period: "1h" }, web)).errors).toEqual([
      "root or sudo privileges required to create periodic token",
    ]);
    expect(vaultError(() => store.create(tx, { id: "a.b" }, root)).errors).toEqual([
      "custom token ID cannot have a '.' in the value",
    ]);
  });
});

describe("TTLs", () => {
  it("defaults to 768h and is capped by the system max", () => {
    const token = store.create(tx, { policies: ["web"] }, root);
    expect(token.creation_ttl).toBe(768 * HOUR);
    expect(token.renewable).toBe(true);
    const long = store.create(tx, { policies: ["web"], ttl: "10000h" }, root);
    expect(long.creation_ttl).toBe(768 * HOUR);
  });

  it("a child cannot outlive a non-root parent", () => {
    const parent = store.create(tx, { policies: ["web"], ttl: "1h" }, root);
    advance(600);
    const child = store.create(tx, { ttl: "5h" }, parent);
    expect(child.creation_ttl).toBe(HOUR - 600);
    expect(child.expire_time).toBe(parent.expire_time);
    const orphan = store.create(tx, { ttl: "5h" }, parent, { orphan: true });
    expect(orphan.creation_ttl).toBe(5 * HOUR);
  });

  it("children die with an expiring root parent even without the cap", () => {
    const parent = store.create(tx, { policies: ["root"], ttl: "1h" }, root);
    const child = store.create(tx, { policies: ["web"], ttl: "5h" }, parent);
    expect(child.creation_ttl).toBe(5 * HOUR);
    advance(2 * HOUR);
    expect(store.lookup(tx, child.id)).toBeUndefined();
  });

  it("expiring root tokens cannot create non-expiring root tokens", () => {
    const parent = store.create(tx, { policies: ["root"], ttl: "1h" }, root);
    expect(vaultError(() => store.create(tx, {}, parent)).errors).toEqual([
      "expiring root tokens cannot create non-expiring root tokens",
    ]);
  });

  it("expired tokens disappear (lazily revoked)", () => {
    const token = store.create(tx, { policies: ["web"], ttl: "10s" }, root);
    advance(9);
    expect(store.lookupData(store.lookup(tx, token.id)!).ttl).toBe(1);
    advance(1);
    expect(store.lookup(tx, token.id)).toBeUndefined();
    expect(store.lookupAccessor(tx, token.accessor)).toBeUndefined();
    expect([...tx.store.keys()].filter((k) => k.includes("/parent/"))).toEqual([]);
  });

  it("renew extends by the increment, bounded by explicit_max_ttl", () => {
    const token = store.create(tx, { policies: ["web"], ttl: "1h", explicit_max_ttl: "2h" }, root);
    advance(30 * 60);
    const renewed = store.renew(tx, token, 2 * HOUR);
    expect(store.authResponse(renewed).lease_duration).toBe(90 * 60);
    const data = store.lookupData(renewed);
    expect(data.last_renewal_time).toBe(T0 / 1000 + 1800);
    advance(90 * 60);
    expect(store.lookup(tx, token.id)).toBeUndefined();
  });

  it("renew without increment restores the creation TTL; the system max is absolute", () => {
    const small = new TokenStore({
      now: () => clock,
      defaultTtlSeconds: HOUR,
      maxTtlSeconds: 3 * HOUR,
    });
    const r = small.createRoot(tx);
    const token = small.create(tx, { policies: ["web"] }, r);
    expect(token.creation_ttl).toBe(HOUR);
    advance(50 * 60);
    expect(small.authResponse(small.renew(tx, token)).lease_duration).toBe(HOUR);
    advance(50 * 60);
    small.renew(tx, token);
    advance(50 * 60);
    expect(small.authResponse(small.renew(tx, token)).lease_duration).toBe(30 * 60);
    advance(30 * 60);
    expect(small.lookup(tx, token.id)).toBeUndefined();
  });

  it("periodic tokens renew to their period indefinitely", () => {
    const small = new TokenStore({ now: () => clock, maxTtlSeconds: 2 * HOUR });
    const r = small.createRoot(tx);
    const token = small.create(tx, { policies: ["web"], period: "1h", ttl: "5m" }, r);
    expect(token.creation_ttl).toBe(HOUR);
    for (let i = 0; i < 5; i++) {
      advance(50 * 60);
      expect(small.authResponse(small.renew(tx, token)).lease_duration).toBe(HOUR);
    }
    expect(small.lookupData(small.lookup(tx, token.id)!).period).toBe(HOUR);
  });

  it("non-renewable tokens refuse renewal", () => {
    const token = store.create(tx, { policies: ["web"], renewable: false }, root);
    expect(vaultError(() => store.renew(tx, token)).errors).toEqual(["lease is not renewable"]);
  });
});

describe("num_uses", () => {
  it("a token with num_uses 1 works exactly once", () => {
    const token = store.create(tx, { policies: ["web"], num_uses: 1 }, root);
    const found = store.lookup(tx, token.id)!;
    store.use(tx, found);
    expect(store.lookup(tx, token.id)).toBeUndefined();
  });

  it("decrements and revokes at zero", () => {
    const token = store.create(tx, { policies: ["web"], num_uses: 3 }, root);
    store.use(tx, store.lookup(tx, token.id)!);
    expect(store.lookup(tx, token.id)?.num_uses).toBe(2);
    store.use(tx, store.lookup(tx, token.id)!);
    store.use(tx, store.lookup(tx, token.id)!);
    expect(store.lookup(tx, token.id)).toBeUndefined();
  });

  it("unlimited tokens are untouched and use-limited tokens cannot have children", () => {
    const token = store.create(tx, { policies: ["web"], num_uses: 2 }, root);
    expect(vaultError(() => store.create(tx, {}, token)).errors).toEqual([
      "restricted use token cannot generate child tokens",
    ]);
    store.use(tx, root);
    expect(store.lookup(tx, root.id)?.num_uses).toBe(0);
  });
});

describe("revocation", () => {
  it("revokes the whole subtree", () => {
    const a = store.create(tx, { policies: ["web"] }, root);
    const b = store.create(tx, {}, a);
    const c = store.create(tx, {}, b);
    store.revoke(tx, a.id);
    for (const t of [a, b, c]) expect(store.lookup(tx, t.id)).toBeUndefined();
    expect(store.lookup(tx, root.id)).toBeDefined();
    expect([...tx.store.keys()].filter((k) => !k.includes(root.accessor))).toHaveLength(1);
  });

  it("orphanChildren keeps the children as orphans", () => {
    const a = store.create(tx, { policies: ["web"] }, root);
    const b = store.create(tx, {}, a);
    const c = store.create(tx, {}, b);
    store.revoke(tx, a.id, { orphanChildren: true });
    expect(store.lookup(tx, a.id)).toBeUndefined();
    expect(store.lookup(tx, b.id)).toMatchObject({ orphan: true, parent: "" });
    expect(store.lookup(tx, c.id)?.orphan).toBe(false);
    store.revoke(tx, b.id);
    expect(store.lookup(tx, c.id)).toBeUndefined();
  });

  it("finds and revokes by accessor", () => {
    const token = store.create(tx, { policies: ["web"] }, root);
    expect(store.lookupAccessor(tx, token.accessor)?.id).toBe(token.id);
    expect(store.listAccessors(tx).sort()).toEqual([root.accessor, token.accessor].sort());
    store.revoke(tx, store.lookupAccessor(tx, token.accessor)!.id);
    expect(store.lookupAccessor(tx, token.accessor)).toBeUndefined();
    expect(store.lookupAccessor(tx, "../id/x")).toBeUndefined();
  });
});

describe("batch tokens", () => {
  it("are minimal: hvb. prefix, no accessor, not renewable, no children", () => {
    const batch = store.create(tx, { policies: ["web"], type: "batch" }, root);
    expect(batch.id.startsWith("hvb.")).toBe(true);
    expect(batch).toMatchObject({ accessor: "", renewable: false, type: "batch" });
    expect(vaultError(() => store.create(tx, {}, batch)).errors).toEqual([
      "batch tokens cannot create more tokens",
    ]);
    expect(vaultError(() => store.renew(tx, batch)).errors).toEqual([
      "batch tokens cannot be renewed",
    ]);
    expect(vaultError(() => store.create(tx, { type: "batch", num_uses: 2 }, root)).errors).toEqual(
      ['batch tokens cannot have "num_uses" set'],
    );
  });
});

describe("token backend", () => {
  const mount: MountEntry = {
    path: "auth/token/",
    type: "token",
    description: "token based credentials",
    accessor: "auth_token_0000",
    uuid: "11111111-1111-1111-1111-111111111111",
    local: false,
    seal_wrap: false,
    options: null,
    config: {},
    storagePrefix: "sys/token/",
  };
  const existing = new Set(["web"]);
  let sudo = false;
  const backend = () =>
    createTokenBackend(store, {
      policyExists: (_tx, name) => existing.has(name),
      hasSudo: () => sudo,
    });

  const call = (
    operation: Operation,
    path: string,
    token: TokenEntry | undefined,
    data: Record<string, unknown> = {},
  ) => {
    const req: LogicalRequest = {
      id: "req-1",
      operation,
      path,
      mount,
      data,
      query: {},
      storage: tx.sub("sys/token/"),
      tx,
      token,
      connection: { remoteAddress: "127.0.0.1" },
      now: new Date(clock),
    };
    return backend().handle(req);
  };
  const sync = (result: ReturnType<typeof call>) => result as Awaited<ReturnType<typeof call>>;
  const callError = (...args: Parameters<typeof call>) => vaultError(() => call(...args));

  beforeEach(() => {
    sudo = false;
  });

  it("declares the sudo paths and makes every write an update", () => {
    expect(backend().sudoPaths).toEqual(["accessors*", "revoke-orphan*"]);
    expect(backend().exists?.({} as LogicalRequest)).toBe(true);
  });

  it("create answers data null and a full auth block, warning about unknown policies", () => {
    const res = sync(
      call("update", "create", root, {
        policies: ["web", "ghost"],
        meta: { app: "nova" },
        ttl: "1h",
        display_name: "my app",
      }),
    );
    expect(res.data).toBeNull();
    expect(res.warnings).toEqual(['Policy "ghost" does not exist']);
    expect(Object.keys(res.auth!).sort()).toEqual(
      [
        "accessor",
        "client_token",
        "entity_id",
        "lease_duration",
        "metadata",
        "mfa_requirement",
        "num_uses",
        "orphan",
        "policies",
        "renewable",
        "token_policies",
        "token_type",
      ].sort(),
    );
    expect(res.auth).toMatchObject({
      policies: ["default", "ghost", "web"],
      metadata: { app: "nova" },
      lease_duration: HOUR,
      renewable: true,
      token_type: "service",
      orphan: false,
    });
    const entry = store.lookup(tx, res.auth!.client_token)!;
    expect(entry).toMatchObject({ display_name: "token-my-app", path: "auth/token/create" });
  });

  it("create-orphan needs no sudo; no_parent does", () => {
    const web = sync(call("update", "create", root, { policies: ["web"] })).auth!;
    const caller = store.lookup(tx, web.client_token)!;
    const orphan = sync(call("update", "create-orphan", caller, {})).auth!;
    expect(orphan.orphan).toBe(true);
    expect(store.lookup(tx, orphan.client_token)?.path).toBe("auth/token/create-orphan");
    expect(callError("update", "create", caller, { no_parent: true }).status).toBe(400);
    sudo = true;
    expect(sync(call("update", "create", caller, { no_parent: true })).auth?.orphan).toBe(true);
  });

  it("enforces the subset rule for non-sudo callers", () => {
    const web = store.create(tx, { policies: ["web"] }, root);
    expect(callError("update", "create", web, { policies: "admin" }).errors).toEqual([
      "child policies must be subset of parent",
    ]);
    sudo = true;
    expect(sync(call("update", "create", web, { policies: "admin" })).auth?.policies).toEqual([
      "admin",
      "default",
    ]);
  });

  it("lookup, lookup-self and lookup-accessor", () => {
    const web = store.create(tx, { policies: ["web"] }, root);
    expect(sync(call("read", "lookup-self", web)).data).toMatchObject({ id: web.id });
    expect(sync(call("update", "lookup", root, { token: web.id })).data).toMatchObject({
      accessor: web.accessor,
      policies: ["default", "web"],
    });
    const bad = callError("update", "lookup", root, { token: "hvs.nope" });
    expect([bad.status, bad.errors]).toEqual([403, ["bad token"]]);
    const byAccessor = sync(call("update", "lookup-accessor", root, { accessor: web.accessor }));
    expect(byAccessor.data).toMatchObject({ id: "", accessor: web.accessor });
    expect(callError("update", "lookup-accessor", root, { accessor: "nope" }).errors).toEqual([
      "invalid accessor",
    ]);
  });

  it("renew-self, renew and renew-accessor", () => {
    const web = store.create(tx, { policies: ["web"], ttl: "1h" }, root);
    advance(600);
    expect(sync(call("update", "renew-self", web, { increment: "30m" })).auth).toMatchObject({
      client_token: web.id,
      lease_duration: 1800,
    });
    expect(sync(call("update", "renew", root, { token: web.id })).auth?.lease_duration).toBe(HOUR);
    const viaAccessor = sync(call("update", "renew-accessor", root, { accessor: web.accessor }));
    expect(viaAccessor.auth?.client_token).toBe("");
    expect(callError("update", "renew", root, { token: "hvs.nope" }).errors).toEqual([
      "token not found",
    ]);
  });

  it("revoke endpoints answer 204 (empty response)", () => {
    const a = store.create(tx, { policies: ["web"] }, root);
    const b = store.create(tx, {}, a);
    expect(sync(call("update", "revoke-orphan", root, { token: a.id }))).toEqual({});
    expect(store.lookup(tx, b.id)?.orphan).toBe(true);
    expect(sync(call("update", "revoke-accessor", root, { accessor: b.accessor }))).toEqual({});
    expect(store.lookup(tx, b.id)).toBeUndefined();
    const c = store.create(tx, { policies: ["web"] }, root);
    expect(sync(call("update", "revoke-self", c))).toEqual({});
    expect(store.lookup(tx, c.id)).toBeUndefined();
    expect(sync(call("update", "revoke", root, { token: "hvs.unknown" }))).toEqual({});
    expect(callError("update", "revoke", root, {}).errors).toEqual(["missing token ID"]);
  });

  it("lists accessors, rejects roles and wrong verbs", () => {
    const web = store.create(tx, { policies: ["web"] }, root);
    const keys = sync(call("list", "accessors/", root)).data?.keys as string[];
    expect(keys.sort()).toEqual([root.accessor, web.accessor].sort());
    expect(callError("update", "create/myrole", root).errors).toEqual(["unknown role myrole"]);
    expect(callError("read", "create", root).status).toBe(405);
    expect(callError("list", "roles", root).status).toBe(404);
    expect(callError("update", "nope", root).status).toBe(404);
    expect(sync(call("update", "tidy", root))).toEqual({});
  });
});

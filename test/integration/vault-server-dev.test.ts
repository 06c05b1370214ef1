/**
 * `strongroom vault-server --dev` driven by node-vault (a real Vault client) and, where
 * node-vault cannot send a request, by raw HTTP: every API issue 2 lists, with Vault's exact
 * envelopes, status codes and error bodies.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import fc from "fast-check";
import nodeVault from "node-vault";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Json, rawRequest, vaultError } from "../helpers/vault-http.js";
import { startVaultServer, type VaultServerHandle } from "../helpers/vault-server-process.js";

// Go's RFC3339Nano drops a zero fraction entirely: a whole-second time has no "."
const RFC3339_NANO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CAS_MISMATCH = "check-and-set parameter did not match the current version";
const CAS_REQUIRED = "check-and-set parameter required for this call";
/** What node-vault resolves with for a 204 (axios hands over the empty body as ""). */
const NO_CONTENT = "";

let server: VaultServerHandle;
let rootToken: string;
let tmp: string;

/** A fresh node-vault client (token-creating commands replace a client's token). */
function vault(token: string | undefined = rootToken, extra: Record<string, unknown> = {}) {
  return nodeVault({ endpoint: server.addr, token, ...extra });
}

function raw(options: Parameters<typeof rawRequest>[1]) {
  return rawRequest(server.addr, options);
}

/** A token carrying `policies` (and `default`), created by root. */
async function tokenWith(policies: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const created = await vault().tokenCreate({ policies, ...extra });
  return created.auth.client_token as string;
}

function expectEnvelope(body: Json, mountType?: string): void {
  expect(Object.keys(body)).toEqual(
    expect.arrayContaining([
      "request_id",
      "lease_id",
      "renewable",
      "lease_duration",
      "data",
      "wrap_info",
      "warnings",
      "auth",
    ]),
  );
  expect(body.request_id).toMatch(UUID);
  expect(body.wrap_info).toBeNull();
  if (mountType !== undefined) expect(body.mount_type).toBe(mountType);
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "strongroom-dev-it-"));
  server = await startVaultServer({ mode: "dev" });
  rootToken = server.rootToken!;
});

afterAll(async () => {
  await server?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("raw sys endpoints in dev mode", () => {
  it("sys/health answers 200 with Vault's fields, HEAD without a body, and honours code overrides", async () => {
    const health = await vault(undefined).health();
    expect(health).toMatchObject({
      initialized: true,
      sealed: false,
      standby: false,
      performance_standby: false,
      replication_performance_mode: "disabled",
      replication_dr_mode: "disabled",
    });
    expect(typeof health.server_time_utc).toBe("number");
    expect(typeof health.version).toBe("string");
    expect(typeof health.cluster_id).toBe("string");
    expect(typeof health.cluster_name).toBe("string");
    expect(health.request_id).toBeUndefined(); // raw object, no envelope

    const get = await raw({ path: "/v1/sys/health" });
    expect(get.status).toBe(200);
    expect(get.headers["content-type"]).toBe("application/json");
    const head = await raw({ method: "HEAD", path: "/v1/sys/health" });
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    expect((await raw({ path: "/v1/sys/health?activecode=299" })).status).toBe(299);
    expect((await raw({ path: "/v1/sys/health?standbyok=true" })).status).toBe(200);
    expect((await raw({ path: "/v1/sys/health?activecode=abc" })).status).toBe(400);
  });

  it("sys/seal-status, sys/init and sys/leader are bare objects", async () => {
    const status = await vault(undefined).status();
    expect(status).toMatchObject({
      type: "shamir",
      initialized: true,
      sealed: false,
      t: 1,
      n: 1,
      progress: 0,
      nonce: "",
      migration: false,
      recovery_seal: false,
      storage_type: "inmem",
    });
    expect(typeof status.version).toBe("string");
    expect(typeof status.cluster_id).toBe("string");
    expect(status.data).toBeUndefined();

    expect(await vault(undefined).initialized()).toEqual({ initialized: true });

    const leader = await vault(undefined).leader();
    expect(leader).toMatchObject({ ha_enabled: false, leader_address: "" });
    expect(typeof leader.is_self).toBe("boolean");
    expect(leader.data).toBeUndefined();
  });

  it("a second sys/init is refused with 400 Vault is already initialized", async () => {
    const err = await vaultError(vault(undefined).init({ secret_shares: 1, secret_threshold: 1 }));
    expect(err.status).toBe(400);
    expect(err.message).toBe("Vault is already initialized");
  });
});

describe("KV v2 at secret/ through node-vault", () => {
  it("writes and reads with the full envelope and version metadata", async () => {
    const written = await vault().write("secret/data/kv/basic", {
      data: { user: "app", pass: "p1" },
    });
    expectEnvelope(written);
    expect(written.data).toEqual({
      created_time: expect.stringMatching(RFC3339_NANO),
      custom_metadata: null,
      deletion_time: "",
      destroyed: false,
      version: 1,
    });
    expect(written).toMatchObject({
      lease_id: "",
      renewable: false,
      lease_duration: 0,
      auth: null,
    });

    const read = await vault().read("secret/data/kv/basic");
    expectEnvelope(read, "kv");
    expect(read.data.data).toEqual({ user: "app", pass: "p1" });
    expect(read.data.metadata).toEqual({
      created_time: written.data.created_time,
      custom_metadata: null,
      deletion_time: "",
      destroyed: false,
      version: 1,
    });
    expect(read.warnings).toBeNull();
  });

  it("keeps versions readable with ?version= and reports them in metadata/", async () => {
    const path = "secret/data/kv/versions";
    for (const n of [1, 2, 3]) {
      const w = await vault().write(path, { data: { n: String(n) } });
      expect(w.data.version).toBe(n);
    }
    expect((await vault().read(path)).data.data).toEqual({ n: "3" });
    const v1 = await vault().read(`${path}?version=1`);
    expect(v1.data.data).toEqual({ n: "1" });
    expect(v1.data.metadata.version).toBe(1);
    expect((await vault().read(`${path}?version=2`)).data.data).toEqual({ n: "2" });

    const meta = await vault().read("secret/metadata/kv/versions");
    expectEnvelope(meta, "kv");
    expect(meta.data).toMatchObject({
      cas_required: false,
      current_version: 3,
      oldest_version: 0,
      max_versions: 0,
      delete_version_after: "0s",
      custom_metadata: null,
    });
    expect(meta.data.created_time).toMatch(RFC3339_NANO);
    expect(meta.data.updated_time).toMatch(RFC3339_NANO);
    expect(Object.keys(meta.data.versions).sort()).toEqual(["1", "2", "3"]);
    expect(meta.data.versions["2"]).toEqual({
      created_time: expect.stringMatching(RFC3339_NANO),
      deletion_time: "",
      destroyed: false,
    });

    const missingVersion = await vaultError(vault().read(`${path}?version=99`));
    expect(missingVersion.status).toBe(404);
    expect(missingVersion.body).toEqual({ errors: [] });
  });

  it("check-and-set: cas 0 only creates, cas N must match, a mismatch is 400 with Vault's message", async () => {
    const path = "secret/data/kv/cas";
    expect(
      (await vault().write(path, { options: { cas: 0 }, data: { a: "1" } })).data.version,
    ).toBe(1);
    const again = await vaultError(vault().write(path, { options: { cas: 0 }, data: { a: "x" } }));
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ errors: [CAS_MISMATCH] });
    expect(
      (await vault().write(path, { options: { cas: 1 }, data: { a: "2" } })).data.version,
    ).toBe(2);
    const stale = await vaultError(vault().write(path, { options: { cas: 1 }, data: { a: "y" } }));
    expect(stale.status).toBe(400);
    expect(stale.message).toBe(CAS_MISMATCH);
    expect((await vault().read(path)).data.data).toEqual({ a: "2" });
  });

  it("cas_required on a key demands options.cas", async () => {
    await vault().write("secret/data/kv/cas-required", { data: { a: "1" } });
    const set = await vault().write("secret/metadata/kv/cas-required", { cas_required: true });
    expect(set).toBe(NO_CONTENT);
    const refused = await vaultError(
      vault().write("secret/data/kv/cas-required", { data: { a: "2" } }),
    );
    expect(refused.status).toBe(400);
    expect(refused.message).toBe(CAS_REQUIRED);
    const ok = await vault().write("secret/data/kv/cas-required", {
      options: { cas: 1 },
      data: { a: "2" },
    });
    expect(ok.data.version).toBe(2);
    expect((await vault().read("secret/metadata/kv/cas-required")).data.cas_required).toBe(true);
  });

  it("cas_required on the engine config applies to every key", async () => {
    await vault().write("secret/config", { cas_required: true });
    try {
      const cfg = await vault().read("secret/config");
      expect(cfg.data).toMatchObject({ cas_required: true, max_versions: 0 });
      const refused = await vaultError(
        vault().write("secret/data/kv/engine-cas", { data: { a: "1" } }),
      );
      expect(refused.message).toBe(CAS_REQUIRED);
      expect(
        (
          await vault().write("secret/data/kv/engine-cas", {
            options: { cas: 0 },
            data: { a: "1" },
          })
        ).data.version,
      ).toBe(1);
    } finally {
      await vault().write("secret/config", { cas_required: false });
    }
  });

  it("PATCH (node-vault update) merges with JSON merge patch and honours cas", async () => {
    const path = "secret/data/kv/patch";
    await vault().write(path, {
      data: { keep: "k", change: "old", drop: "d", nested: { a: "1", b: "2" } },
    });
    const patched = await vault().update(path, {
      data: { change: "new", drop: null, nested: { b: null, c: "3" }, add: "x" },
    });
    expect(patched.data.version).toBe(2);
    expect((await vault().read(path)).data.data).toEqual({
      keep: "k",
      change: "new",
      nested: { a: "1", c: "3" },
      add: "x",
    });
    const badCas = await vaultError(
      vault().update(path, { options: { cas: 1 }, data: { x: "y" } }),
    );
    expect(badCas.status).toBe(400);
    expect(badCas.message).toBe(CAS_MISMATCH);
    expect(
      (await vault().update(path, { options: { cas: 2 }, data: { x: "y" } })).data.version,
    ).toBe(3);

    const missing = await vaultError(
      vault().update("secret/data/kv/patch-missing", { data: { a: "1" } }),
    );
    expect(missing.status).toBe(404);
  });

  it("max_versions prunes the oldest versions permanently", async () => {
    const path = "secret/data/kv/pruned";
    await vault().write("secret/metadata/kv/pruned", { max_versions: 3 });
    for (let n = 1; n <= 5; n++) await vault().write(path, { data: { n: String(n) } });
    const meta = await vault().read("secret/metadata/kv/pruned");
    expect(meta.data).toMatchObject({ max_versions: 3, current_version: 5, oldest_version: 3 });
    expect(Object.keys(meta.data.versions).sort()).toEqual(["3", "4", "5"]);
    const gone = await vaultError(vault().read(`${path}?version=1`));
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ errors: [] });
    expect((await vault().read(`${path}?version=3`)).data.data).toEqual({ n: "3" });
  });

  it("custom_metadata and delete_version_after are kept in metadata and applied", async () => {
    await vault().write("secret/metadata/kv/custom", {
      custom_metadata: { owner: "ops", tier: "1" },
      delete_version_after: "3s",
    });
    const writtenAt = Date.now();
    const w = await vault().write("secret/data/kv/custom", { data: { a: "1" } });
    expect(w.data.custom_metadata).toEqual({ owner: "ops", tier: "1" });
    expect(w.data.deletion_time).toMatch(RFC3339_NANO); // scheduled
    const meta = await vault().read("secret/metadata/kv/custom");
    expect(meta.data.custom_metadata).toEqual({ owner: "ops", tier: "1" });
    expect(meta.data.delete_version_after).toBe("3s");
    expect((await vault().read("secret/data/kv/custom")).data.data).toEqual({ a: "1" });
    await sleep(Math.max(0, writtenAt + 3_300 - Date.now()));
    const expired = await vaultError(vault().read("secret/data/kv/custom"));
    expect(expired.status).toBe(404);
    expect(expired.body.data).toMatchObject({ data: null, metadata: { version: 1 } });
  });

  it("soft delete, delete/ of versions and undelete: deleted versions are 404 with a full envelope", async () => {
    const path = "secret/data/kv/soft";
    await vault().write(path, { data: { v: "1" } });
    await vault().write(path, { data: { v: "2" } });

    expect(await vault().delete(path)).toBe(NO_CONTENT);
    const deleted = await vaultError(vault().read(path));
    expect(deleted.status).toBe(404);
    expectEnvelope(deleted.body);
    expect(deleted.body.data.data).toBeNull();
    expect(deleted.body.data.metadata).toMatchObject({ version: 2, destroyed: false });
    expect(deleted.body.data.metadata.deletion_time).toMatch(RFC3339_NANO);
    expect((await vault().read(`${path}?version=1`)).data.data).toEqual({ v: "1" });

    expect(await vault().write("secret/delete/kv/soft", { versions: [1] })).toBe(NO_CONTENT);
    const v1 = await vaultError(vault().read(`${path}?version=1`));
    expect(v1.status).toBe(404);
    expect(v1.body.data.metadata.version).toBe(1);

    expect(await vault().write("secret/undelete/kv/soft", { versions: [1, 2] })).toBe(NO_CONTENT);
    expect((await vault().read(path)).data.data).toEqual({ v: "2" });
    expect((await vault().read(`${path}?version=1`)).data.data).toEqual({ v: "1" });

    // A soft-deleted key keeps its version for check-and-set.
    await vault().delete(path);
    const casOnDeleted = await vaultError(
      vault().write(path, { options: { cas: 0 }, data: { v: "x" } }),
    );
    expect(casOnDeleted.message).toBe(CAS_MISMATCH);
    expect(
      (await vault().write(path, { options: { cas: 2 }, data: { v: "3" } })).data.version,
    ).toBe(3);
  });

  it("destroy (node-vault destroySecretVersions and POST destroy/) removes versions for good", async () => {
    const path = "secret/data/kv/destroy";
    for (const v of ["1", "2", "3"]) await vault().write(path, { data: { v } });
    expect(await vault().destroySecretVersions({ path: "kv/destroy", versions: [1] })).toBe(
      NO_CONTENT,
    );
    expect(await vault().write("secret/destroy/kv/destroy", { versions: [2] })).toBe(NO_CONTENT);

    const meta = await vault().read("secret/metadata/kv/destroy");
    expect(meta.data.versions["1"].destroyed).toBe(true);
    expect(meta.data.versions["2"].destroyed).toBe(true);
    expect(meta.data.versions["3"].destroyed).toBe(false);

    const destroyed = await vaultError(vault().read(`${path}?version=1`));
    expect(destroyed.status).toBe(404);
    expect(destroyed.body.data).toMatchObject({
      data: null,
      metadata: { version: 1, destroyed: true },
    });
    await vault().write("secret/undelete/kv/destroy", { versions: [1] });
    expect((await vaultError(vault().read(`${path}?version=1`))).status).toBe(404);
    expect((await vault().read(path)).data.data).toEqual({ v: "3" });
  });

  it("DELETE metadata/ removes every version and the key; a missing key is 404 {errors: []}", async () => {
    await vault().write("secret/data/kv/gone", { data: { a: "1" } });
    expect(await vault().delete("secret/metadata/kv/gone")).toBe(NO_CONTENT);
    for (const path of [
      "secret/data/kv/gone",
      "secret/metadata/kv/gone",
      "secret/data/kv/never-written",
    ]) {
      const err = await vaultError(vault().read(path));
      expect(err.status).toBe(404);
      expect(err.body).toEqual({ errors: [] });
      expect(err.message).toBe("Status 404");
    }
  });

  it("PATCH metadata/ merges custom_metadata and settings without a new version", async () => {
    await vault().write("secret/data/kv/meta-patch", { data: { a: "1" } });
    await vault().write("secret/metadata/kv/meta-patch", {
      custom_metadata: { owner: "ops", env: "prod" },
    });
    expect(
      await vault().update("secret/metadata/kv/meta-patch", {
        custom_metadata: { env: null, team: "db" },
        max_versions: 4,
      }),
    ).toBe(NO_CONTENT);
    const meta = await vault().read("secret/metadata/kv/meta-patch");
    expect(meta.data).toMatchObject({
      custom_metadata: { owner: "ops", team: "db" },
      max_versions: 4,
      current_version: 1,
    });
  });

  it("concurrent writes are atomic: one winner for cas 0, no lost update among parallel PATCHes", async () => {
    const racers = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        vault().write("secret/data/kv/race", { options: { cas: 0 }, data: { winner: String(i) } }),
      ),
    );
    expect(racers.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const lost of racers.filter((r): r is PromiseRejectedResult => r.status === "rejected")) {
      expect(lost.reason.response.statusCode).toBe(400);
      expect(lost.reason.message).toBe(CAS_MISMATCH);
    }

    await vault().write("secret/data/kv/counter", { data: { start: "yes" } });
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        vault().update("secret/data/kv/counter", { data: { [`f${i}`]: String(i) } }),
      ),
    );
    const read = await vault().read("secret/data/kv/counter");
    expect(read.data.metadata.version).toBe(31);
    expect(Object.keys(read.data.data)).toHaveLength(31);
  });

  it("rejects a write without data with 400 no data provided", async () => {
    const err = await vaultError(vault().write("secret/data/kv/nodata", { options: {} }));
    expect(err.status).toBe(400);
    expect(err.message).toBe("no data provided");
  });

  it("answers 200 with a warning for unknown body parameters", async () => {
    const res = await vault().write("secret/data/kv/extra", { data: { a: "1" }, bogus: true });
    expect(res.data.version).toBe(1);
    expect(res.warnings).toEqual([expect.stringContaining("bogus")]);
  });
});

describe("KV v2 listing", () => {
  beforeAll(async () => {
    for (const key of ["a", "b", "dir/c", "dir/deeper/d"]) {
      await vault().write(`secret/data/list/${key}`, { data: { k: key } });
    }
  });

  it("LIST metadata/ returns keys with folders ending in /", async () => {
    const listed = await vault().list("secret/metadata/list");
    expectEnvelope(listed, "kv");
    expect(listed.data.keys).toEqual(["a", "b", "dir/"]);
    expect((await vault().list("secret/metadata/list/dir/")).data.keys).toEqual(["c", "deeper/"]);
    expect((await vault().list("secret/metadata/")).data.keys).toContain("list/");
  });

  it("GET ?list=true, ?list=True and ?list=1 are the same as LIST; a bad value is 400", async () => {
    for (const value of ["true", "True", "1"]) {
      const res = await raw({ path: `/v1/secret/metadata/list?list=${value}`, token: rootToken });
      expect(res.status).toBe(200);
      expect(res.json.data.keys).toEqual(["a", "b", "dir/"]);
    }
    const noCustomVerbs = vault(rootToken, { noCustomHTTPVerbs: true });
    expect((await noCustomVerbs.list("secret/metadata/list")).data.keys).toEqual([
      "a",
      "b",
      "dir/",
    ]);
    const plainRead = await raw({ path: "/v1/secret/metadata/list?list=false", token: rootToken });
    expect(plainRead.status).toBe(404); // a read of the (non-existent) key "list"
    const bad = await raw({ path: "/v1/secret/metadata/list?list=yes", token: rootToken });
    expect(bad.status).toBe(400);
    expect(bad.json.errors).toHaveLength(1);
  });

  it("an empty folder is 404 {errors: []}; soft-deleted keys stay listed until metadata is deleted", async () => {
    const empty = await vaultError(vault().list("secret/metadata/list/nothing-here"));
    expect(empty.status).toBe(404);
    expect(empty.body).toEqual({ errors: [] });

    await vault().delete("secret/data/list/a");
    expect((await vault().list("secret/metadata/list")).data.keys).toEqual(["a", "b", "dir/"]);
    await vault().delete("secret/metadata/list/a");
    expect((await vault().list("secret/metadata/list")).data.keys).toEqual(["b", "dir/"]);
  });
});

describe("mounts and auth methods", () => {
  it("sys/mounts lists the dev mounts inside data and duplicated at the top level", async () => {
    const mounts = await vault().mounts();
    expectEnvelope(mounts);
    for (const path of ["secret/", "sys/", "cubbyhole/"]) {
      expect(mounts.data[path]).toBeDefined();
      expect(mounts[path]).toEqual(mounts.data[path]);
    }
    expect(mounts.data["secret/"]).toMatchObject({
      type: "kv",
      options: { version: "2" },
      local: false,
      seal_wrap: false,
    });
    expect(mounts.data["secret/"].accessor).toMatch(/^kv_/);
    expect(mounts.data["secret/"].config).toMatchObject({ default_lease_ttl: 0, max_lease_ttl: 0 });
  });

  it("a KV v1 mount (node-vault mount with options.version 1) stores plain key/values", async () => {
    expect(await vault().mount({ mount_point: "kv1", type: "kv", options: { version: "1" } })).toBe(
      NO_CONTENT,
    );
    const mounts = await vault().mounts();
    expect(mounts.data["kv1/"]).toMatchObject({ type: "kv", options: { version: "1" } });

    expect(await vault().write("kv1/app/db", { user: "u", password: "pw" })).toBe(NO_CONTENT);
    const read = await vault().read("kv1/app/db");
    expectEnvelope(read, "kv");
    expect(read.data).toEqual({ user: "u", password: "pw" });
    // Vault's passthrough backend reports the mount's default TTL (768h) or the entry's own ttl.
    expect(read).toMatchObject({ lease_id: "", renewable: false, lease_duration: 2764800 });
    await vault().write("kv1/app/with-ttl", { value: "x", ttl: "1h" });
    expect((await vault().read("kv1/app/with-ttl")).lease_duration).toBe(3600);
    await vault().delete("kv1/app/with-ttl");
    await vault().write("kv1/app/other", { a: "1" });
    expect((await vault().list("kv1/app")).data.keys).toEqual(["db", "other"]);
    expect(await vault().delete("kv1/app/db")).toBe(NO_CONTENT);
    const gone = await vaultError(vault().read("kv1/app/db"));
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ errors: [] });
  });

  it("a second KV v2 mount works as soon as the 204 returns", async () => {
    await vault().mount({ mount_point: "team-kv", type: "kv", options: { version: "2" } });
    expect((await vault().write("team-kv/data/x", { data: { a: "1" } })).data.version).toBe(1);
    expect(await vault().unmount({ mount_point: "team-kv" })).toBe(NO_CONTENT);
    const gone = await vaultError(vault().read("team-kv/data/x"));
    expect(gone.status).toBe(404);
  });

  it("accepts the kv-v2 alias and options.version as a number (hvac sends 2)", async () => {
    await vault().mount({ mount_point: "alias-kv", type: "kv-v2" });
    await vault().mount({ mount_point: "numeric-kv", type: "kv", options: { version: 2 } });
    const mounts = await vault().mounts();
    expect(mounts.data["alias-kv/"]).toMatchObject({ type: "kv", options: { version: "2" } });
    expect(mounts.data["numeric-kv/"]).toMatchObject({ type: "kv", options: { version: "2" } });
    expect((await vault().write("numeric-kv/data/x", { data: { a: "1" } })).data.version).toBe(1);
    await vault().unmount({ mount_point: "alias-kv" });
    await vault().unmount({ mount_point: "numeric-kv" });
  });

  it("a mount over an existing path is a 400", async () => {
    const same = await vaultError(
      vault().mount({ mount_point: "secret", type: "kv", options: { version: "2" } }),
    );
    expect(same.status).toBe(400);
    expect(same.message).toMatch(/path is already in use at secret\/|existing mount at secret\//);
    const nested = await vaultError(vault().mount({ mount_point: "secret/inner", type: "kv" }));
    expect(nested.status).toBe(400);
  });

  it("sys/auth enables approle and lists it next to token/", async () => {
    expect(
      await vault().enableAuth({ mount_point: "approle", type: "approle", description: "apps" }),
    ).toBe(NO_CONTENT);
    const auths = await vault().auths();
    expectEnvelope(auths);
    expect(auths.data["approle/"]).toMatchObject({ type: "approle", description: "apps" });
    expect(auths["approle/"]).toEqual(auths.data["approle/"]);
    expect(auths.data["token/"]).toMatchObject({ type: "token" });
    const twice = await vaultError(vault().enableAuth({ mount_point: "approle", type: "approle" }));
    expect(twice.status).toBe(400);
  });
});

const APP_POLICY = `
# application secrets
path "secret/data/app/*" {
  capabilities = ["create", "read", "update", "patch", "delete"]
}
path "secret/metadata/app/*" {
  capabilities = ["list", "read"]
}
path "secret/data/app/readonly/*" {
  capabilities = ["read"]
}
path "secret/data/app/forbidden" {
  capabilities = ["deny"]
}
path "secret/data/team/+/config" {
  capabilities = ["read"]
}
path "secret/data/create-only/*" {
  capabilities = ["create"]
}
`;

describe("policies", () => {
  it("node-vault addPolicy/getPolicy/policies/removePolicy use sys/policy", async () => {
    expect(
      await vault().addPolicy({
        name: "legacy",
        rules: 'path "secret/data/x" { capabilities = ["read"] }',
      }),
    ).toBe(NO_CONTENT);
    const got = await vault().getPolicy({ name: "legacy" });
    expectEnvelope(got);
    expect(got.data).toEqual({
      name: "legacy",
      rules: 'path "secret/data/x" { capabilities = ["read"] }',
    });
    expect(got.rules).toBe(got.data.rules); // top-level duplication
    const list = await vault().policies();
    expect(list.data.policies).toEqual(expect.arrayContaining(["default", "legacy", "root"]));
    expect(list.data.keys).toEqual(list.data.policies);
    expect(list.policies).toEqual(list.data.policies);
    expect(await vault().removePolicy({ name: "legacy" })).toBe(NO_CONTENT);
    expect((await vault().policies()).data.policies).not.toContain("legacy");
    const missing = await vaultError(vault().getPolicy({ name: "legacy" }));
    expect(missing.status).toBe(404);
  });

  it("sys/policies/acl writes, reads, lists and deletes HCL policies", async () => {
    expect(await vault().write("sys/policies/acl/app", { policy: APP_POLICY })).toBe(NO_CONTENT);
    const read = await vault().read("sys/policies/acl/app");
    expect(read.data).toEqual({ name: "app", policy: APP_POLICY });
    expect((await vault().list("sys/policies/acl")).data.keys).toEqual(
      expect.arrayContaining(["app", "default", "root"]),
    );
    await vault().write("sys/policies/acl/temp", {
      policy: 'path "x/*" { capabilities = ["list"] }',
    });
    expect(await vault().delete("sys/policies/acl/temp")).toBe(NO_CONTENT);
    expect((await vault().list("sys/policies/acl")).data.keys).not.toContain("temp");
  });

  it("accepts JSON policies and base64-encoded policy text on sys/policies/acl", async () => {
    await vault().write("secret/data/pol/json", { data: { v: "j" } });
    await vault().write("secret/data/pol/b64", { data: { v: "b" } });
    const json = JSON.stringify({ path: { "secret/data/pol/json": { capabilities: ["read"] } } });
    await vault().write("sys/policies/acl/json-pol", { policy: json });
    const hcl = 'path "secret/data/pol/b64" { capabilities = ["read"] }';
    await vault().write("sys/policies/acl/b64-pol", {
      policy: Buffer.from(hcl).toString("base64"),
    });
    expect((await vault().read("sys/policies/acl/b64-pol")).data.policy).toBe(hcl);
    const token = await tokenWith(["json-pol", "b64-pol"]);
    expect((await vault(token).read("secret/data/pol/json")).data.data).toEqual({ v: "j" });
    expect((await vault(token).read("secret/data/pol/b64")).data.data).toEqual({ v: "b" });
    expect((await vaultError(vault(token).read("secret/data/kv/basic"))).status).toBe(403);
  });

  it("policy names are case-insensitive (stored lower-case)", async () => {
    await vault().write("sys/policies/acl/MixedCase", {
      policy: 'path "secret/data/mc" { capabilities = ["read"] }',
    });
    expect((await vault().read("sys/policies/acl/mixedcase")).data.name).toBe("mixedcase");
    expect((await vault().list("sys/policies/acl")).data.keys).toContain("mixedcase");
    await vault().delete("sys/policies/acl/MIXEDCASE");
    expect((await vault().list("sys/policies/acl")).data.keys).not.toContain("mixedcase");
  });

  it("refuses invalid HCL and changes to root/default with 400", async () => {
    const bad = await vaultError(
      vault().write("sys/policies/acl/broken", { policy: 'path "x" { capabilities = ' }),
    );
    expect(bad.status).toBe(400);
    const badCap = await vaultError(
      vault().write("sys/policies/acl/broken", { policy: 'path "x" { capabilities = ["fly"] }' }),
    );
    expect(badCap.status).toBe(400);
    expect(
      (
        await vaultError(
          vault().addPolicy({ name: "root", rules: 'path "x" { capabilities = ["read"] }' }),
        )
      ).message,
    ).toBe('cannot update "root" policy');
    expect((await vaultError(vault().removePolicy({ name: "default" }))).message).toBe(
      "cannot delete default policy",
    );
  });
});

describe("ACL enforcement end to end", () => {
  let app: string;
  beforeAll(async () => {
    await vault().write("sys/policies/acl/app", { policy: APP_POLICY });
    await vault().write("secret/data/app/one", { data: { v: "1" } });
    await vault().write("secret/data/app/readonly/r", { data: { v: "r" } });
    await vault().write("secret/data/app/forbidden", { data: { v: "f" } });
    await vault().write("secret/data/team/blue/config", { data: { v: "blue" } });
    await vault().write("secret/data/team/blue/deep/config", { data: { v: "deep" } });
    await vault().write("secret/data/other", { data: { v: "o" } });
    app = await tokenWith(["app"]);
  });

  const denied = async (promise: Promise<unknown>) => {
    const err = await vaultError(promise);
    expect(err.status).toBe(403);
    expect(err.message).toContain("permission denied");
  };

  it("grants what the policy names under secret/data/app/*", async () => {
    expect((await vault(app).read("secret/data/app/one")).data.data).toEqual({ v: "1" });
    expect((await vault(app).write("secret/data/app/two", { data: { v: "2" } })).data.version).toBe(
      1,
    );
    expect(
      (await vault(app).update("secret/data/app/two", { data: { w: "3" } })).data.version,
    ).toBe(2);
    expect(await vault(app).delete("secret/data/app/two")).toBe(NO_CONTENT);
  });

  it("answers 403 permission denied elsewhere", async () => {
    await denied(vault(app).read("secret/data/other"));
    await denied(vault(app).write("secret/data/other", { data: { v: "x" } }));
    await denied(vault(app).read("secret/metadata/other"));
    await denied(vault(app).mounts());
    await denied(
      vault(app).write("sys/policies/acl/app", { policy: 'path "*" { capabilities = ["sudo"] }' }),
    );
    await denied(vault(app).delete("secret/metadata/app/one"));
  });

  it("the most specific path wins: readonly/* allows read only, the exact deny beats app/*", async () => {
    expect((await vault(app).read("secret/data/app/readonly/r")).data.data).toEqual({ v: "r" });
    await denied(vault(app).write("secret/data/app/readonly/r", { data: { v: "x" } }));
    await denied(vault(app).read("secret/data/app/forbidden"));
    await denied(vault(app).write("secret/data/app/forbidden", { data: { v: "x" } }));
  });

  it("+ matches exactly one path segment", async () => {
    expect((await vault(app).read("secret/data/team/blue/config")).data.data).toEqual({
      v: "blue",
    });
    await denied(vault(app).read("secret/data/team/blue/deep/config"));
    await denied(vault(app).read("secret/data/team/config"));
  });

  it("create and update are told apart by the existence check", async () => {
    expect(
      (await vault(app).write("secret/data/create-only/new", { data: { v: "1" } })).data.version,
    ).toBe(1);
    await denied(vault(app).write("secret/data/create-only/new", { data: { v: "2" } }));
    await denied(vault(app).read("secret/data/create-only/new"));
  });

  it("listing needs list on metadata/, not on data/", async () => {
    expect((await vault(app).list("secret/metadata/app")).data.keys).toEqual(
      expect.arrayContaining(["one", "readonly/"]),
    );
    await vault().write("sys/policies/acl/data-list", {
      policy: 'path "secret/data/*" { capabilities = ["list", "read"] }',
    });
    const dataOnly = await tokenWith(["data-list"]);
    await denied(vault(dataOnly).list("secret/metadata/app"));
    expect((await vault(dataOnly).read("secret/data/other")).data.data).toEqual({ v: "o" });
  });

  it("sudo paths need sudo: sys/audit and sys/auth refuse a token with plain capabilities", async () => {
    await vault().write("sys/policies/acl/no-sudo", {
      policy:
        'path "sys/audit*" { capabilities = ["read", "create", "update", "list"] }\npath "sys/auth/*" { capabilities = ["create", "update"] }',
    });
    const noSudo = await tokenWith(["no-sudo"]);
    await denied(vault(noSudo).audits());
    await denied(vault(noSudo).enableAuth({ mount_point: "approle2", type: "approle" }));
  });

  it("a deny in one policy beats a grant of the same path in another; sudo grants root-protected paths", async () => {
    await vault().write("sys/policies/acl/grant-shared", {
      policy: 'path "secret/data/shared" { capabilities = ["read", "update"] }',
    });
    await vault().write("sys/policies/acl/deny-shared", {
      policy: 'path "secret/data/shared" { capabilities = ["deny"] }',
    });
    await vault().write("secret/data/shared", { data: { v: "s" } });
    const granted = await tokenWith(["grant-shared"]);
    expect((await vault(granted).read("secret/data/shared")).data.data).toEqual({ v: "s" });
    await denied(
      vault(await tokenWith(["grant-shared", "deny-shared"])).read("secret/data/shared"),
    );

    await vault().write("sys/policies/acl/audit-reader", {
      policy: 'path "sys/audit" { capabilities = ["read", "sudo"] }',
    });
    const auditor = await tokenWith(["audit-reader"]);
    expect((await vault(auditor).audits()).data).toBeTypeOf("object");
  });

  it("capabilities-self reports what the token may do", async () => {
    const caps = await vault(app).write("sys/capabilities-self", {
      paths: ["secret/data/app/x", "secret/data/app/forbidden"],
    });
    expect(caps.data["secret/data/app/x"]).toEqual(
      expect.arrayContaining(["create", "read", "update", "delete"]),
    );
    expect(caps.data["secret/data/app/forbidden"]).toEqual(["deny"]);
  });
});

describe("tokens", () => {
  it("root's lookup-self: root policy, no TTL, path auth/token/root", async () => {
    const self = await vault().tokenLookupSelf();
    expectEnvelope(self, "token");
    expect(self.data).toMatchObject({
      id: rootToken,
      policies: ["root"],
      ttl: 0,
      expire_time: null,
      path: "auth/token/root",
      renewable: false,
      orphan: true,
      type: "service",
      num_uses: 0,
    });
  });

  it("tokenCreate with ttl, policies and meta returns the auth block and sets the client's token", async () => {
    const client = vault();
    const created = await client.tokenCreate({
      policies: ["app"],
      ttl: "1h",
      meta: { purpose: "it" },
      display_name: "ci",
    });
    expectEnvelope(created, "token");
    expect(created.data).toBeNull();
    expect(created.auth).toMatchObject({
      policies: ["app", "default"],
      token_policies: ["app", "default"],
      metadata: { purpose: "it" },
      lease_duration: 3600,
      renewable: true,
      token_type: "service",
      orphan: false,
      num_uses: 0,
    });
    expect(created.auth.client_token).toMatch(/^(hvs|s)\.\S{20,}$/);
    expect(typeof created.auth.accessor).toBe("string");
    expect(client.token).toBe(created.auth.client_token);

    const self = await client.tokenLookupSelf();
    expect(self.data).toMatchObject({
      id: created.auth.client_token,
      accessor: created.auth.accessor,
      policies: ["app", "default"],
      path: "auth/token/create",
      display_name: "token-ci",
      meta: { purpose: "it" },
      renewable: true,
      orphan: false,
      creation_ttl: 3600,
    });
    expect(self.data.ttl).toBeGreaterThan(3590);
    expect(self.data.ttl).toBeLessThanOrEqual(3600);
    expect(self.data.expire_time).toMatch(/^\d{4}-\d{2}-\d{2}T/);

    const looked = await vault().tokenLookup({ token: created.auth.client_token });
    expect(looked.data.id).toBe(created.auth.client_token);
    expect(looked.data.policies).toEqual(["app", "default"]);
  });

  it("explicit_max_ttl caps the TTL at creation and on renewal", async () => {
    const capped = await vault().tokenCreate({
      policies: ["app"],
      ttl: "2h",
      explicit_max_ttl: "1h",
    });
    expect(capped.auth.lease_duration).toBe(3600);
    const client = vault(capped.auth.client_token);
    const renewed = await client.tokenRenewSelf({ increment: "5h" });
    expect(renewed.auth.lease_duration).toBeLessThanOrEqual(3600);
    expect(renewed.auth.lease_duration).toBeGreaterThan(3500);
    const self = await client.tokenLookupSelf();
    expect(self.data.explicit_max_ttl).toBe(3600);
  });

  it("a non-root parent can only hand out a subset of its own policies", async () => {
    await vault().write("sys/policies/acl/token-creator", {
      policy: 'path "auth/token/create" { capabilities = ["update"] }',
    });
    const parent = await tokenWith(["token-creator", "app"]);
    const child = await vault(parent).tokenCreate({ policies: ["app"] });
    expect(child.auth.policies).toEqual(["app", "default"]);
    const escalation = await vaultError(vault(parent).tokenCreate({ policies: ["root"] }));
    expect(escalation.status).toBe(400);
    const other = await vaultError(vault(parent).tokenCreate({ policies: ["data-list"] }));
    expect(other.status).toBe(400);
  });

  it("default TTL is 768h, the system max TTL caps longer requests, no_default_policy and renewable are honoured", async () => {
    const plain = await vault().tokenCreate({ policies: ["app"] });
    expect(plain.auth.lease_duration).toBe(2764800);
    const long = await vault().tokenCreate({ policies: ["app"], ttl: "10000h" });
    expect(long.auth.lease_duration).toBe(2764800);
    const bare = await vault().tokenCreate({ policies: ["app"], no_default_policy: true });
    expect(bare.auth.policies).toEqual(["app"]);
    const fixed = await vault().tokenCreate({ policies: ["app"], renewable: false, ttl: "1h" });
    expect(fixed.auth.renewable).toBe(false);
    const renew = await vaultError(
      vault(fixed.auth.client_token).tokenRenewSelf({ increment: "2h" }),
    );
    expect(renew.status).toBe(400);
  });

  it("warns about a policy that does not exist", async () => {
    const created = await vault().tokenCreate({ policies: ["no-such-policy"] });
    expect(created.warnings).toEqual(['Policy "no-such-policy" does not exist']);
  });

  it("num_uses limits how often a token works", async () => {
    const limited = await tokenWith(["app"], { num_uses: 2 });
    await vault(limited).read("secret/data/app/one");
    await vault(limited).read("secret/data/app/one");
    const third = await vaultError(vault(limited).read("secret/data/app/one"));
    expect(third.status).toBe(403);
  });

  it("tokenRenewSelf extends the TTL; tokenRevoke and tokenRevokeSelf end tokens", async () => {
    const client = vault();
    await client.tokenCreate({ policies: ["app"], ttl: "10m" });
    const renewed = await client.tokenRenewSelf({ increment: "1h" });
    expect(renewed.auth).toMatchObject({
      renewable: true,
      lease_duration: 3600,
      policies: ["app", "default"],
    });

    const victim = await tokenWith(["app"]);
    expect(await vault().tokenRevoke({ token: victim })).toBe(NO_CONTENT);
    expect((await vaultError(vault(victim).read("secret/data/app/one"))).status).toBe(403);

    const selfRevoking = await tokenWith(["app"]);
    expect(await vault(selfRevoking).tokenRevokeSelf()).toBe(NO_CONTENT);
    expect((await vaultError(vault(selfRevoking).tokenLookupSelf())).status).toBe(403);
  });

  it("revoking a parent revokes its children but not orphans", async () => {
    await vault().write("sys/policies/acl/token-creator", {
      policy:
        'path "auth/token/create" { capabilities = ["update"] }\npath "auth/token/create-orphan" { capabilities = ["update", "sudo"] }',
    });
    const parent = await tokenWith(["token-creator", "app"]);
    const child = (await vault(parent).tokenCreate({ policies: ["app"] })).auth.client_token;
    const orphan = await vault(parent).tokenCreateOrphan({ policies: ["app"] });
    expect(orphan.auth.orphan).toBe(true);
    const orphanToken = orphan.auth.client_token;
    expect((await vault(orphanToken).tokenLookupSelf()).data.orphan).toBe(true);

    await vault().tokenRevoke({ token: parent });
    expect((await vaultError(vault(child).tokenLookupSelf())).status).toBe(403);
    expect((await vault(orphanToken).tokenLookupSelf()).data.id).toBe(orphanToken);
  });

  it("accepts Authorization: Bearer as well as X-Vault-Token; no token is 403", async () => {
    const bearer = await raw({
      path: "/v1/auth/token/lookup-self",
      headers: { Authorization: `Bearer ${rootToken}` },
    });
    expect(bearer.status).toBe(200);
    expect(bearer.json.data.id).toBe(rootToken);
    const header = await raw({ path: "/v1/auth/token/lookup-self", token: rootToken });
    expect(header.json.data.id).toBe(rootToken);
    const none = await raw({ path: "/v1/secret/data/app/one" });
    expect(none.status).toBe(403);
    expect(none.json).toEqual({ errors: ["permission denied"] });
    const bogus = await raw({ path: "/v1/secret/data/app/one", token: "hvs.not-a-token" });
    expect(bogus.status).toBe(403);
    expect(bogus.json.errors[0]).toContain("permission denied");
    // X-Vault-Request and a root namespace are accepted and ignored.
    const ns = await raw({
      path: "/v1/secret/data/app/one",
      token: rootToken,
      headers: { "X-Vault-Request": "true", "X-Vault-Namespace": "root" },
    });
    expect(ns.status).toBe(200);
  });

  it("an expired token is refused", async () => {
    const createdAt = Date.now();
    const shortLived = await tokenWith(["app"], { ttl: "3s" });
    expect((await vault(shortLived).read("secret/data/app/one")).data.data).toEqual({ v: "1" });
    await sleep(Math.max(0, createdAt + 3_500 - Date.now()));
    const expired = await vaultError(vault(shortLived).read("secret/data/app/one"));
    expect(expired.status).toBe(403);
    expect((await vaultError(vault().tokenLookup({ token: shortLived }))).status).toBe(403);
  });
});

describe("AppRole", () => {
  beforeAll(async () => {
    const auths = await vault().auths();
    if (!auths.data["approle/"])
      await vault().enableAuth({ mount_point: "approle", type: "approle" });
    await vault().write("sys/policies/acl/app", { policy: APP_POLICY });
  });

  it("role → role-id → secret-id → login gives a token with the role's policies", async () => {
    expect(
      await vault().addApproleRole({ role_name: "web", policies: "app", token_ttl: 600 }),
    ).toBe(NO_CONTENT);
    const role = await vault().getApproleRole({ role_name: "web" });
    expect(role.data).toMatchObject({
      token_policies: ["app"],
      token_ttl: 600,
      bind_secret_id: true,
    });
    const roleId = (await vault().getApproleRoleId({ role_name: "web" })).data.role_id as string;
    expect(roleId).toMatch(UUID);
    const secret = await vault().getApproleRoleSecret({ role_name: "web" });
    expect(secret.data).toMatchObject({ secret_id_num_uses: 0, secret_id_ttl: 0 });
    expect(secret.data.secret_id).toMatch(UUID);
    expect(typeof secret.data.secret_id_accessor).toBe("string");

    const client = vault(undefined);
    const login = await client.approleLogin({ role_id: roleId, secret_id: secret.data.secret_id });
    expectEnvelope(login, "approle");
    expect(login.auth).toMatchObject({
      policies: ["app", "default"],
      token_policies: ["app", "default"],
      metadata: { role_name: "web" },
      lease_duration: 600,
      renewable: true,
    });
    expect(client.token).toBe(login.auth.client_token);
    expect((await client.read("secret/data/app/one")).data.data).toEqual({ v: "1" });
    expect((await vaultError(client.read("secret/data/other"))).status).toBe(403);
    expect((await vault().approleRoles()).data.keys).toContain("web");
  });

  it("secret_id_num_uses 1: the secret-id works once", async () => {
    await vault().addApproleRole({ role_name: "once", policies: "app", secret_id_num_uses: 1 });
    const roleId = (await vault().getApproleRoleId({ role_name: "once" })).data.role_id;
    const secretId = (await vault().getApproleRoleSecret({ role_name: "once" })).data.secret_id;
    const first = await vault(undefined).approleLogin({ role_id: roleId, secret_id: secretId });
    expect(first.auth.client_token).toBeTruthy();
    const second = await vaultError(
      vault(undefined).approleLogin({ role_id: roleId, secret_id: secretId }),
    );
    expect(second.status).toBe(400);
    expect(second.message).toMatch(/invalid (role or )?secret id/i);
  });

  it("a secret-id generated with num_uses and ttl expires by use and by time", async () => {
    const roleId = (await vault().getApproleRoleId({ role_name: "web" })).data.role_id;
    const twice = await vault().write("auth/approle/role/web/secret-id", { num_uses: 2 });
    expect(twice.data.secret_id_num_uses).toBe(2);
    for (let i = 0; i < 2; i++) {
      await vault(undefined).approleLogin({ role_id: roleId, secret_id: twice.data.secret_id });
    }
    expect(
      (
        await vaultError(
          vault(undefined).approleLogin({ role_id: roleId, secret_id: twice.data.secret_id }),
        )
      ).status,
    ).toBe(400);

    const brief = await vault().write("auth/approle/role/web/secret-id", { ttl: "1s" });
    expect(brief.data.secret_id_ttl).toBe(1);
    await sleep(1_200);
    expect(
      (
        await vaultError(
          vault(undefined).approleLogin({ role_id: roleId, secret_id: brief.data.secret_id }),
        )
      ).status,
    ).toBe(400);
  });

  it("a wrong secret-id or role-id is 400", async () => {
    const roleId = (await vault().getApproleRoleId({ role_name: "web" })).data.role_id;
    const wrongSecret = await vaultError(
      vault(undefined).approleLogin({
        role_id: roleId,
        secret_id: "00000000-0000-0000-0000-000000000000",
      }),
    );
    expect(wrongSecret.status).toBe(400);
    expect(wrongSecret.body.errors).toHaveLength(1);
    const wrongRole = await vaultError(
      vault(undefined).approleLogin({ role_id: "nope", secret_id: "nope" }),
    );
    expect(wrongRole.status).toBe(400);
  });

  it("a custom role-id (updateApproleRoleId) is used for login", async () => {
    await vault().updateApproleRoleId({ role_name: "web", role_id: "web-custom-role-id" });
    expect((await vault().getApproleRoleId({ role_name: "web" })).data.role_id).toBe(
      "web-custom-role-id",
    );
    const secretId = (await vault().getApproleRoleSecret({ role_name: "web" })).data.secret_id;
    const login = await vault(undefined).approleLogin({
      role_id: "web-custom-role-id",
      secret_id: secretId,
    });
    expect(login.auth.metadata).toEqual({ role_name: "web" });
  });

  it("disabling an AppRole mount removes its paths", async () => {
    await vault().enableAuth({ mount_point: "approle-tmp", type: "approle" });
    await vault().addApproleRole({ mount_point: "approle-tmp", role_name: "r", policies: "app" });
    expect(await vault().disableAuth({ mount_point: "approle-tmp" })).toBe(NO_CONTENT);
    expect((await vault().auths()).data["approle-tmp/"]).toBeUndefined();
    const gone = await vaultError(
      vault().getApproleRole({ mount_point: "approle-tmp", role_name: "r" }),
    );
    expect(gone.status).toBe(404);
  });

  it("deleting the role ends its logins", async () => {
    await vault().addApproleRole({ role_name: "temp", policies: "app" });
    const roleId = (await vault().getApproleRoleId({ role_name: "temp" })).data.role_id;
    const secretId = (await vault().getApproleRoleSecret({ role_name: "temp" })).data.secret_id;
    expect(await vault().deleteApproleRole({ role_name: "temp" })).toBe(NO_CONTENT);
    expect(
      (await vaultError(vault(undefined).approleLogin({ role_id: roleId, secret_id: secretId })))
        .status,
    ).toBe(400);
  });
});

describe("audit", () => {
  it("a file device logs HMAC'd JSON lines that never contain the secret or the token", async () => {
    const file = join(tmp, "audit.log");
    const secretValue = `s3cr3t-${Math.random().toString(36).slice(2)}`;
    expect(
      await vault().enableAudit({ name: "file", type: "file", options: { file_path: file } }),
    ).toBe(NO_CONTENT);
    try {
      const audits = await vault().audits();
      expect(audits.data["file/"]).toMatchObject({ type: "file", options: { file_path: file } });

      await vault().write("secret/data/audited", { data: { password: secretValue } });
      expect((await vault().read("secret/data/audited")).data.data.password).toBe(secretValue);

      const text = readFileSync(file, "utf8");
      expect(text).not.toContain(secretValue);
      expect(text).not.toContain(rootToken);
      const entries = text
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line));
      const writeRequest = entries.find(
        (e) =>
          e.type === "request" &&
          e.request?.path === "secret/data/audited" &&
          e.request.operation !== "read",
      );
      const readResponse = entries.find(
        (e) =>
          e.type === "response" &&
          e.request?.path === "secret/data/audited" &&
          e.request.operation === "read",
      );
      expect(writeRequest).toBeDefined();
      expect(readResponse).toBeDefined();
      const requestHash = writeRequest.request.data.data.password as string;
      expect(requestHash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
      expect(readResponse.response.data.data.password).toBe(requestHash);
      expect(writeRequest.request.client_token).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
      expect(writeRequest.auth.client_token).toBe(writeRequest.request.client_token);

      // Every field is logged, hashed, whatever its name.
      await raw({
        method: "POST",
        path: "/v1/secret/data/audited-proto",
        token: rootToken,
        body: `{"data":{"__proto__":{"password":"${secretValue}"},"plain":"p"}}`,
      });
      const protoEntry = readFileSync(file, "utf8")
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line))
        .find((e) => e.type === "request" && e.request?.path === "secret/data/audited-proto");
      expect(Object.keys(protoEntry.request.data.data).sort()).toEqual(["__proto__", "plain"]);
      const own = Object.getOwnPropertyDescriptor(protoEntry.request.data.data, "__proto__");
      expect(own?.value.password).toBe(requestHash);

      const created = await vault().tokenCreate({ policies: ["default"] });
      const afterCreate = readFileSync(file, "utf8");
      expect(afterCreate).not.toContain(created.auth.client_token);
      expect(afterCreate).not.toContain(created.auth.accessor);

      const hashed = await vault().write("sys/audit-hash/file", { input: secretValue });
      expect(hashed.data.hash).toBe(requestHash);
      expect((await vault().write("sys/audit-hash/file", { input: rootToken })).data.hash).toBe(
        writeRequest.request.client_token,
      );
    } finally {
      expect(await vault().disableAudit({ name: "file" })).toBe(NO_CONTENT);
    }
    expect((await vault().audits()).data["file/"]).toBeUndefined();

    // Re-enabling a device gives it a new HMAC salt.
    const before = await vault()
      .enableAudit({
        name: "salted",
        type: "file",
        options: { file_path: join(tmp, "salted-1.log") },
      })
      .then(() => vault().write("sys/audit-hash/salted", { input: "same input" }));
    await vault().disableAudit({ name: "salted" });
    await vault().enableAudit({
      name: "salted",
      type: "file",
      options: { file_path: join(tmp, "salted-2.log") },
    });
    const after = await vault().write("sys/audit-hash/salted", { input: "same input" });
    await vault().disableAudit({ name: "salted" });
    expect(after.data.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(after.data.hash).not.toBe(before.data.hash);
  });

  it("refuses a device it cannot open with 400", async () => {
    const err = await vaultError(
      vault().enableAudit({
        name: "bad",
        type: "file",
        options: { file_path: join(tmp, "no-such-dir", "audit.log") },
      }),
    );
    expect(err.status).toBe(400);
  });
});

describe("bad input", () => {
  it("malformed JSON is 400 with the errors envelope", async () => {
    const res = await raw({
      method: "POST",
      path: "/v1/secret/data/bad",
      token: rootToken,
      body: '{"data": {"a": ',
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect(res.json.errors).toHaveLength(1);
    expect(res.json.errors[0]).toMatch(/JSON/);
    const notObject = await raw({
      method: "POST",
      path: "/v1/secret/data/bad",
      token: rootToken,
      body: "[1,2]",
    });
    expect(notObject.status).toBe(400);
  });

  it("deeply nested JSON: 990 levels work end to end (audited), deeper bodies are 400", async () => {
    const nested = (depth: number) => `${"[".repeat(depth)}"leaf"${"]".repeat(depth)}`;
    await vault().enableAudit({
      name: "deep",
      type: "file",
      options: { file_path: join(tmp, "deep-audit.log") },
    });
    try {
      const body = `{"data":{"a":${nested(990)}}}`;
      const write = await raw({
        method: "POST",
        path: "/v1/secret/data/deep",
        token: rootToken,
        body,
      });
      expect(write.status, write.text).toBe(200);
      const patch = await raw({
        method: "PATCH",
        path: "/v1/secret/data/deep",
        token: rootToken,
        body,
        headers: { "Content-Type": "application/merge-patch+json" },
      });
      expect(patch.status, patch.text).toBe(200);
      const read = await vault().read("secret/data/deep");
      expect(JSON.stringify(read.data.data.a)).toBe(nested(990));
    } finally {
      await vault().disableAudit({ name: "deep" });
    }
    for (const depth of [5_000, 200_000]) {
      const res = await raw({
        method: "POST",
        path: "/v1/secret/data/deeper",
        token: rootToken,
        body: `{"data":{"a":${nested(depth)}}}`,
      });
      expect(res.status, String(depth)).toBe(400);
      expect(res.json.errors[0]).toMatch(/exceeded max depth/);
    }
  });

  it("a body over 1 MiB is 413, with or without Content-Length", async () => {
    const big = JSON.stringify({ data: { blob: "x".repeat(1024 * 1024 + 10) } });
    const declared = await raw({
      method: "POST",
      path: "/v1/secret/data/big",
      token: rootToken,
      body: big,
    });
    expect(declared.status).toBe(413);
    expect(declared.json.errors).toHaveLength(1);

    const chunked = await fetch(`${server.addr}/v1/secret/data/big`, {
      method: "POST",
      headers: { "X-Vault-Token": rootToken },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as Json).errors).toHaveLength(1);
    // Just under the limit is fine.
    const fits = await vault().write("secret/data/big", {
      data: { blob: "x".repeat(1000 * 1000) },
    });
    expect(fits.data.version).toBe(1);
  });

  it("paths with .. or NUL are 400", async () => {
    for (const path of [
      "/v1/secret/data/../../sys/mounts",
      "/v1/secret/data/a/%2e%2e/b",
      "/v1/secret/data/a%00b",
      "/v1/secret/data/%00",
    ]) {
      const res = await raw({ path, token: rootToken });
      expect(res.status, path).toBe(400);
      expect(res.json.errors, path).toHaveLength(1);
    }
  });

  it("PATCH without the merge-patch content type is 415", async () => {
    const res = await raw({
      method: "PATCH",
      path: "/v1/secret/data/kv/basic",
      token: rootToken,
      body: { data: { a: "1" } },
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(415);
    expect(res.json.errors).toHaveLength(1);
  });

  it("an unknown path is 404 with the errors envelope; an unknown verb is 405", async () => {
    const res = await raw({ path: "/v1/no-such-mount/x", token: rootToken });
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ errors: [expect.stringContaining("no handler for route")] });
    const sysUnknown = await raw({ path: "/v1/sys/does-not-exist", token: rootToken });
    expect(sysUnknown.status).toBe(404);
    expect(sysUnknown.json.errors).toHaveLength(1);
    const verb = await raw({ method: "PUT", path: "/v1/sys/health" });
    expect(verb.status).toBe(405);
    expect(verb.json.errors).toHaveLength(1);
  });

  it("methods and headers Node's parser refuses still get the errors envelope", async () => {
    const brew = await raw({ method: "BREW", path: "/v1/sys/health" });
    expect(brew.status).toBe(405);
    expect(brew.json).toEqual({ errors: [expect.any(String)] });
    const hugeHeader = await raw({
      path: "/v1/sys/health",
      headers: { "X-Padding": "p".repeat(20_000) },
    });
    expect(hugeHeader.status).toBe(431);
    expect(hugeHeader.json.errors).toHaveLength(1);
  });

  it("pipelined LIST, chunked POST and LIST on one keep-alive connection each get their answer", async () => {
    await vault().write("secret/data/pipe/a", { data: { a: "1" } });
    await vault().write("secret/data/pipe/dir/b", { data: { b: "1" } });
    const body = JSON.stringify({ data: { piped: "yes" } });
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const head = (line: string, extra = "") =>
      `${line} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: ${rootToken}\r\n${extra}\r\n`;
    const requests =
      head("LIST /v1/secret/metadata/pipe") +
      head("POST /v1/secret/data/pipe/new", "Transfer-Encoding: chunked\r\n") +
      chunked +
      head("LIST /v1/secret/metadata/pipe", "Content-Length: 2\r\n") +
      "{}" +
      head("GET /v1/secret/data/pipe/new", "Connection: close\r\n");
    const response = await new Promise<string>((resolve, reject) => {
      let text = "";
      const socket = connect(server.port, "127.0.0.1", () => socket.write(requests));
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        text += chunk;
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
      socket.setTimeout(5_000, () => socket.destroy(new Error(`timeout; got so far:\n${text}`)));
    });
    const statuses = [...response.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    expect(statuses).toEqual([200, 200, 200, 200]);
    // Processed in order, as Go's server does: the second LIST and the GET see the POST.
    expect(response.match(/"keys":\["a","dir\/"\]/g)).toHaveLength(1);
    expect(response.match(/"keys":\["a","dir\/","new"\]/g)).toHaveLength(1);
    expect(response).toContain('"piped":"yes"');
  });

  it("clients that hang up mid-body do not hurt the server", async () => {
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(server.port, "127.0.0.1", () => {
          socket.write(
            `POST /v1/secret/data/cut HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${rootToken}\r\nContent-Length: 1000\r\n\r\n{"data":`,
          );
          setTimeout(() => socket.destroy(), 10);
        });
        socket.on("error", () => {});
        socket.on("close", () => resolve());
      });
    }
    expect((await raw({ path: "/v1/sys/health" })).status).toBe(200);
    expect((await vaultError(vault().read("secret/data/cut"))).status).toBe(404);
  });

  it("survives a few hundred random requests and random bytes, and still answers", async () => {
    const methods = [
      "GET",
      "POST",
      "PUT",
      "PATCH",
      "DELETE",
      "LIST",
      "HEAD",
      "OPTIONS",
      "TRACE",
      "BREW",
    ];
    const prefixes = [
      "secret/data/",
      "secret/metadata/",
      "secret/delete/",
      "secret/undelete/",
      "secret/destroy/",
      "secret/subkeys/",
      "secret/config",
      "kv1/",
      "cubbyhole/",
      "auth/token/",
      "auth/approle/role/",
      "auth/approle/login",
      "sys/policy/",
      "sys/policies/acl/",
      "sys/mounts/fuzz-",
      "sys/capabilities-self",
      "sys/internal/ui/mounts/",
      "sys/init",
      "sys/unseal",
      "sys/health",
      "",
    ];
    const pathPart = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.string({ unit: "binary", maxLength: 20 }).map(encodeURIComponent),
      fc.constantFrom(
        "",
        "a",
        "a/b",
        "../x",
        "%2e%2e/x",
        "%00",
        "%zz",
        "?list=maybe",
        "?version=-1",
        "?version=abc",
        "a//b",
        "/",
      ),
    );
    const body = fc.oneof(
      fc.constant(undefined),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record({
          data: fc.jsonValue(),
          options: fc.oneof(fc.jsonValue(), fc.record({ cas: fc.jsonValue() })),
          versions: fc.jsonValue(),
        })
        .map((v) => JSON.stringify(v)),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    );
    const contentType = fc.constantFrom(
      undefined,
      "application/json",
      "application/merge-patch+json",
      "application/x-www-form-urlencoded",
      "text/plain",
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...methods),
        fc.constantFrom(...prefixes),
        pathPart,
        body,
        contentType,
        async (method, prefix, part, payload, type) => {
          const path = `/v1/${prefix}${part}`.replace(/[^\x21-\x7e]/g, (c) =>
            encodeURIComponent(c),
          );
          const headers: Record<string, string> = {};
          if (type) headers["Content-Type"] = type;
          const res = await raw({
            method,
            path,
            token: rootToken,
            headers,
            ...(payload !== undefined ? { body: payload } : {}),
          });
          expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(200);
          expect(res.status, `${method} ${path} → ${res.text}`).toBeLessThan(500);
          if (res.status >= 400 && method !== "HEAD") {
            expect(res.json, `${method} ${path}`).toBeTypeOf("object");
          }
        },
      ),
      { numRuns: 300 },
    );

    // Raw garbage on the socket: the server may answer 400 or hang up, but must stay up.
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 300 }),
          fc.string({ maxLength: 200 }).map((s) => Buffer.from(`${s}\r\n\r\n`)),
        ),
        async (bytes) => {
          await new Promise<void>((resolve) => {
            const socket = connect(server.port, "127.0.0.1", () => socket.end(Buffer.from(bytes)));
            socket.setTimeout(2_000, () => socket.destroy());
            socket.on("data", () => {});
            socket.on("error", () => resolve());
            socket.on("close", () => resolve());
          });
        },
      ),
      { numRuns: 200 },
    );

    const health = await raw({ path: "/v1/sys/health" });
    expect(health.status).toBe(200);
    expect(
      (await vault().write("secret/data/after-fuzz", { data: { ok: "yes" } })).data.version,
    ).toBeGreaterThanOrEqual(1);
    expect((await vault().read("secret/data/after-fuzz")).data.data).toEqual({ ok: "yes" });
    expect((await vault().read("secret/data/app/one")).data.data).toEqual({ v: "1" });
  });
});

/**
 * `strongroom vault-server --storage DIR`: the production life cycle of a Vault, driven by
 * node-vault against live processes — uninitialized and sealed at start, init with 5 shares /
 * threshold 3, unseal (hex and base64 shares, wrong shares, reset), seal, restart, unseal with
 * another subset, everything intact; files private and encrypted; and no acknowledged write
 * lost to `kill -9` in the middle of a burst of concurrent writes.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodeVault from "node-vault";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Json, rawRequest, vaultError } from "../helpers/vault-http.js";
import { startVaultServer, type VaultServerHandle } from "../helpers/vault-server-process.js";

const SEALED = "Vault is sealed";
const NO_CONTENT = "";

let dir: string;
let server: VaultServerHandle | undefined;
let keys: string[] = [];
let keysBase64: string[] = [];
let rootToken = "";
/** Appears in a written secret only; must never show up in the storage files. */
const marker = `plaintext-marker-${randomBytes(8).toString("hex")}`;
let appToken = "";

function vault(token: string | undefined = rootToken) {
  return nodeVault({ endpoint: current().addr, token });
}

function current(): VaultServerHandle {
  if (!server) throw new Error("no server running");
  return server;
}

function raw(options: Parameters<typeof rawRequest>[1]) {
  return rawRequest(current().addr, options);
}

async function restart(): Promise<void> {
  if (server) expect(await server.stop()).toBe(0);
  server = await startVaultServer({ mode: "storage", dir });
}

async function unsealWith(shares: string[]): Promise<Json> {
  let status: Json;
  for (const key of shares) status = await vault(undefined).unseal({ key });
  return status;
}

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

beforeAll(async () => {
  dir = join(mkdtempSync(join(tmpdir(), "strongroom-persist-it-")), "vault");
  server = await startVaultServer({ mode: "storage", dir });
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(join(dir, ".."), { recursive: true, force: true });
});

describe("vault-server --storage DIR", () => {
  it("starts uninitialized and sealed: health 501, seal-status and sys/init say so", async () => {
    expect((await raw({ path: "/v1/sys/health" })).status).toBe(501);
    expect((await raw({ path: "/v1/sys/health?uninitcode=200" })).status).toBe(200);
    const health = await vault(undefined).health();
    expect(health).toMatchObject({ initialized: false, sealed: true, standby: false });
    expect(await vault(undefined).initialized()).toEqual({ initialized: false });
    const status = await vault(undefined).status();
    expect(status).toMatchObject({
      type: "shamir",
      initialized: false,
      sealed: true,
      t: 0,
      n: 0,
      progress: 0,
      storage_type: "file",
    });
    const read = await vaultError(vault("anything").read("secret/data/x"));
    expect(read.status).toBe(503);
    expect(read.body).toEqual({ errors: [SEALED] });
    const unseal = await vaultError(vault(undefined).unseal({ key: "00".repeat(33) }));
    expect(unseal.status).toBe(400);
  });

  it("validates init parameters with Vault's messages", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ secret_shares: 5, secret_threshold: 6 }, "threshold cannot be larger than shares"],
      [
        { secret_shares: 3, secret_threshold: 1 },
        "threshold must be greater than one for multiple shares",
      ],
      [{ secret_shares: 256, secret_threshold: 3 }, "shares must be less than 256"],
      [{ secret_shares: 0, secret_threshold: 0 }, "shares must be at least one"],
      [{}, "shares must be at least one"],
    ];
    for (const [body, message] of cases) {
      const res = await raw({ method: "PUT", path: "/v1/sys/init", body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.errors, JSON.stringify(body)).toEqual([expect.stringContaining(message)]);
    }
    const viaClient = await vaultError(
      vault(undefined).init({ secret_shares: 2, secret_threshold: 3 }),
    );
    expect(viaClient.status).toBe(400);
    const notInt = await raw({
      method: "PUT",
      path: "/v1/sys/init",
      body: { secret_shares: "five", secret_threshold: 3 },
    });
    expect(notInt.status).toBe(400);
    expect((await vault(undefined).initialized()).initialized).toBe(false);
  });

  it("init 5 shares / threshold 3 returns the shares in hex and base64 and a root token", async () => {
    const init = await vault(undefined).init({ secret_shares: 5, secret_threshold: 3 });
    expect(init.request_id).toBeUndefined(); // raw object
    expect(init.keys).toHaveLength(5);
    expect(init.keys_base64).toHaveLength(5);
    init.keys.forEach((hex: string, i: number) => {
      expect(hex).toMatch(/^[0-9a-f]{66}$/);
      expect(Buffer.from(init.keys_base64[i], "base64").toString("hex")).toBe(hex);
    });
    expect(new Set(init.keys).size).toBe(5);
    expect(typeof init.root_token).toBe("string");
    keys = init.keys;
    keysBase64 = init.keys_base64;
    rootToken = init.root_token;

    const again = await vaultError(
      vault(undefined).init({ secret_shares: 1, secret_threshold: 1 }),
    );
    expect(again.status).toBe(400);
    expect(again.message).toBe("Vault is already initialized");

    expect((await raw({ path: "/v1/sys/health" })).status).toBe(503);
    expect((await raw({ path: "/v1/sys/health?sealedcode=299" })).status).toBe(299);
    expect(await vault(undefined).status()).toMatchObject({
      initialized: true,
      sealed: true,
      t: 3,
      n: 5,
      progress: 0,
    });
  });

  it("answers every data request with 503 Vault is sealed while sealed, even for the root token", async () => {
    const sealedCalls: Array<() => Promise<unknown>> = [
      () => vault().read("secret/data/x"),
      () => vault().write("secret/data/x", { data: { a: "1" } }),
      () => vault().list("secret/metadata/"),
      () => vault().delete("secret/data/x"),
      () => vault().mounts(),
      () => vault().policies(),
      () => vault().tokenLookupSelf(),
      () => vault().tokenCreate({ policies: ["default"] }),
      () => vault(undefined).approleLogin({ role_id: "x", secret_id: "y" }),
      () => vault().seal(),
    ];
    for (const call of sealedCalls) {
      const err = await vaultError(call());
      expect(err.status).toBe(503);
      expect(err.body).toEqual({ errors: [SEALED] });
    }
  });

  it("unseal: progress per share, wrong shares are 400 with progress unchanged, reset discards progress", async () => {
    const missing = await vaultError(vault(undefined).unseal({}));
    expect(missing.status).toBe(400);
    expect(missing.message).toBe(
      "'key' must be specified in request body as JSON, or 'reset' set to true",
    );

    let status = await vault(undefined).unseal({ key: keys[0] });
    expect(status).toMatchObject({ sealed: true, t: 3, n: 5, progress: 1 });
    expect(status.nonce).not.toBe("");
    const nonce = status.nonce;

    const wrongShare = await vaultError(
      vault(undefined).unseal({ key: randomBytes(33).toString("hex") }),
    );
    expect(wrongShare.status).toBe(400);
    expect(wrongShare.body.errors).toHaveLength(1);
    const wrongBase64 = await vaultError(
      vault(undefined).unseal({ key: randomBytes(33).toString("base64") }),
    );
    expect(wrongBase64.status).toBe(400);
    const garbage = await vaultError(vault(undefined).unseal({ key: "not a key!" }));
    expect(garbage.status).toBe(400);
    expect(garbage.message).toBe("'key' must be a valid hex or base64 string");
    status = await vault(undefined).status();
    expect(status).toMatchObject({ sealed: true, progress: 1, nonce });

    // The same share twice does not count twice.
    expect((await vault(undefined).unseal({ key: keysBase64[0] })).progress).toBe(1);

    status = await vault(undefined).unseal({ reset: true });
    expect(status).toMatchObject({ sealed: true, progress: 0, nonce: "" });
  });

  it("unseals with three shares mixing hex and base64", async () => {
    expect((await vault(undefined).unseal({ key: keys[1] })).progress).toBe(1);
    expect((await vault(undefined).unseal({ key: keysBase64[3] })).progress).toBe(2);
    const status = await vault(undefined).unseal({ key: keys[4] });
    expect(status).toMatchObject({ sealed: false, progress: 0, t: 3, n: 5 });
    expect(typeof status.cluster_id).toBe("string");
    expect((await raw({ path: "/v1/sys/health" })).status).toBe(200);
    const resetUnsealed = await vaultError(vault(undefined).unseal({ reset: true }));
    expect(resetUnsealed.status).toBe(400);
    // An extra share once unsealed is harmless.
    expect((await vault(undefined).unseal({ key: keys[0] })).sealed).toBe(false);
  });

  it("a normal server has no secret/ mount; data, policies, tokens and AppRole can be set up", async () => {
    const mounts = await vault().mounts();
    expect(mounts.data["secret/"]).toBeUndefined();
    expect(mounts.data["sys/"]).toBeDefined();
    await vault().mount({ mount_point: "secret", type: "kv", options: { version: "2" } });
    await vault().write("secret/data/app/db", { data: { password: `${marker}-v1` } });
    await vault().write("secret/data/app/db", { data: { password: `${marker}-v2` } });
    await vault().write("secret/metadata/app/db", { custom_metadata: { owner: "dba" } });
    await vault().write("secret/data/other", { data: { x: "1" } });
    await vault().addPolicy({
      name: "app",
      rules: 'path "secret/data/app/*" { capabilities = ["read"] }',
    });
    appToken = (await vault().tokenCreate({ policies: ["app"], ttl: "1h" })).auth.client_token;
    expect((await vault(appToken).read("secret/data/app/db")).data.data.password).toBe(
      `${marker}-v2`,
    );
    await vault().enableAuth({ mount_point: "approle", type: "approle" });
    await vault().addApproleRole({ role_name: "svc", policies: "app" });
  });

  it("sys/seal needs root (403 otherwise), answers 204 and seals: reads are 503 again", async () => {
    const denied = await vaultError(vault(appToken).seal());
    expect(denied.status).toBe(403);
    expect(denied.message).toContain("permission denied");
    // Root is not needed: sudo on sys/seal is enough.
    await vault().addPolicy({
      name: "sealer",
      rules: 'path "sys/seal" { capabilities = ["update", "sudo"] }',
    });
    const sealer = (await vault().tokenCreate({ policies: ["sealer"] })).auth.client_token;
    expect(await vault(sealer).seal()).toBe(NO_CONTENT);
    expect((await vault(undefined).status()).sealed).toBe(true);
    expect(
      await vault()
        .seal()
        .catch((e) => e.response.statusCode),
    ).toBe(503);
    expect((await raw({ path: "/v1/sys/health" })).status).toBe(503);
    const head = await raw({ method: "HEAD", path: "/v1/sys/health" });
    expect(head.status).toBe(503);
    expect(head.text).toBe("");
    const read = await vaultError(vault().read("secret/data/app/db"));
    expect(read.status).toBe(503);
    expect(read.message).toBe(SEALED);
  });

  it("keeps its files private (0600 in a 0700 directory) and never in plaintext", async () => {
    expect(await current().stop()).toBe(0);
    server = undefined;
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = filesUnder(dir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(statSync(file).mode & 0o777, file).toBe(0o600);
      const bytes = readFileSync(file);
      for (const needle of [
        marker,
        appToken,
        rootToken,
        "secret/data/app",
        'path "secret',
        ...keys,
        ...keysBase64,
      ]) {
        expect(bytes.includes(Buffer.from(needle)), `${file} contains ${needle}`).toBe(false);
      }
      for (const share of keys) {
        expect(bytes.includes(Buffer.from(share, "hex")), `${file} contains an unseal share`).toBe(
          false,
        );
      }
    }
  });

  it("after a restart it is sealed again and a different 3-share subset unseals it with everything intact", async () => {
    await restart();
    expect((await raw({ path: "/v1/sys/health" })).status).toBe(503);
    expect(await vault(undefined).status()).toMatchObject({
      initialized: true,
      sealed: true,
      progress: 0,
      t: 3,
      n: 5,
    });
    const status = await unsealWith([keysBase64[2]!, keys[0]!, keysBase64[4]!]);
    expect(status.sealed).toBe(false);

    const latest = await vault().read("secret/data/app/db");
    expect(latest.data.data.password).toBe(`${marker}-v2`);
    expect(latest.data.metadata).toMatchObject({ version: 2, custom_metadata: { owner: "dba" } });
    expect((await vault().read("secret/data/app/db?version=1")).data.data.password).toBe(
      `${marker}-v1`,
    );
    expect((await vault().read("secret/metadata/app/db")).data).toMatchObject({
      current_version: 2,
      oldest_version: 0,
    });
    expect((await vault().list("secret/metadata/")).data.keys).toEqual(["app/", "other"]);

    expect((await vault().getPolicy({ name: "app" })).data.rules).toBe(
      'path "secret/data/app/*" { capabilities = ["read"] }',
    );
    const self = await vault(appToken).tokenLookupSelf();
    expect(self.data.policies).toEqual(["app", "default"]);
    expect(self.data.ttl).toBeGreaterThan(3000);
    expect((await vault(appToken).read("secret/data/app/db")).data.data.password).toBe(
      `${marker}-v2`,
    );
    expect((await vaultError(vault(appToken).read("secret/data/other"))).status).toBe(403);
    expect((await vault().tokenLookupSelf()).data.policies).toEqual(["root"]);

    const roleId = (await vault().getApproleRoleId({ role_name: "svc" })).data.role_id;
    const secretId = (await vault().getApproleRoleSecret({ role_name: "svc" })).data.secret_id;
    const login = await vault(undefined).approleLogin({ role_id: roleId, secret_id: secretId });
    expect(login.auth.policies).toEqual(["app", "default"]);
  });

  it("kill -9 during a burst of concurrent writes loses no acknowledged write", async () => {
    const total = 500;
    const inFlight = 50;
    const killAfter = 200;
    const acknowledged = new Map<number, string>();
    let next = 0;
    let killed: Promise<void> | undefined;
    const client = vault();
    const worker = async () => {
      while (killed === undefined && next < total) {
        const i = next++;
        const value = `v-${i}-${randomBytes(6).toString("hex")}`;
        try {
          const res = await client.write(`secret/data/burst/k${i}`, { data: { value } });
          if (res?.data?.version === 1) acknowledged.set(i, value);
        } catch {
          // Refused or cut off by the kill: not acknowledged, so it may or may not be there.
        }
        if (acknowledged.size >= killAfter && killed === undefined) killed = current().kill9();
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    expect(killed, "the burst ended before the kill").toBeDefined();
    await killed;
    expect(acknowledged.size).toBeGreaterThanOrEqual(killAfter);
    expect(acknowledged.size, "every write was acknowledged: the kill came too late").toBeLessThan(
      total,
    );

    server = await startVaultServer({ mode: "storage", dir });
    expect((await unsealWith([keys[3]!, keys[1]!, keys[2]!])).sealed).toBe(false);
    const missing: number[] = [];
    const reader = vault();
    const entries = [...acknowledged];
    for (let start = 0; start < entries.length; start += inFlight) {
      await Promise.all(
        entries.slice(start, start + inFlight).map(async ([i, value]) => {
          try {
            const read = await reader.read(`secret/data/burst/k${i}`);
            if (read.data.data.value !== value) missing.push(i);
          } catch {
            missing.push(i);
          }
        }),
      );
    }
    expect(missing).toEqual([]);
    // The data written before the burst is still there too.
    expect((await vault().read("secret/data/app/db")).data.data.password).toBe(`${marker}-v2`);
    for (const file of filesUnder(dir)) expect(statSync(file).mode & 0o777, file).toBe(0o600);
  });
});

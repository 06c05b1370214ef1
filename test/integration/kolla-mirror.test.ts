/**
 * kolla's Vault layout against the embedded Vault (in process, real HTTP API): the mirror writes
 * kolla-writepwd's shapes only when a value changed, removes the entry of a secret with no value,
 * keeps a failed copy pending until a later sync; bootstrap gives kolla-readpwd read and list on
 * that path only, and refuses to go on when the operator token was made without access to it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifest } from "../../src/config/manifest.js";
import { ERRORS } from "../../src/lib/errors.js";
import { createOperatorToken } from "../../src/vault/bootstrap.js";
import { createKollaMirror } from "../../src/vault/kolla-mirror.js";
import {
  bootstrapKollaAccess,
  kollaLayoutOf,
  kollaOperatorRules,
} from "../../src/vault/kolla-vault.js";
import { KvV2 } from "../../src/vault/kv-v2.js";
import { ensureKvV2 } from "../../src/vault/temporary-vault.js";
import { createVaultClient, type VaultClient } from "../../src/vault/vault-client.js";
import { type InProcessVault, startInProcessVault } from "../helpers/embedded-vault-http.js";

const manifestOf = (deployment: string, kolla: string, services = "nova") =>
  parseManifest(
    `deployment: { name: ${deployment}${kolla} }
secrets: { database_password: {} }
services:
  ${services}: { options: { database: { connection: "x{{ secret.database_password }}" } } }
`,
    "manifest.yaml",
  );

describe("kolla_vault on the embedded Vault", () => {
  let vault: InProcessVault;
  let root: VaultClient;
  const manifest = manifestOf("site", ", kolla_vault: { mount: kolla, path: pw }");
  const layout = kollaLayoutOf(manifest)!;

  beforeAll(async () => {
    vault = await startInProcessVault();
    root = createVaultClient({ addr: vault.addr, token: vault.rootToken });
    await ensureKvV2(root, "secret");
    await ensureKvV2(root, layout.mount);
    await root.enableAuth({ mount_point: "approle", type: "approle" });
  });
  afterAll(async () => {
    await vault?.close();
  });

  const operatorFor = async (deployment: string, rules: string[]) =>
    createVaultClient({
      addr: vault.addr,
      token: await createOperatorToken(root, "secret", deployment, rules),
    });

  it("writes {password} for strings and maps as they are, only when changed; a secret with no value loses its entry", async () => {
    const operator = await operatorFor("site", kollaOperatorRules(layout));
    const mirror = createKollaMirror({ client: operator, layout });
    const kv = new KvV2(root, layout.mount);
    const values = new Map<string, string | Record<string, unknown>>([
      ["database_password", "one"],
      ["nova_ssh_key", { private_key: "k", public_key: "p" }],
    ]);
    const current = async (name: string) => values.get(name);
    expect(await mirror.sync(values.keys(), current)).toEqual({ written: 2, removed: 0 });
    expect((await kv.read("pw/database_password"))?.data).toEqual({ password: "one" });
    expect((await kv.read("pw/nova_ssh_key"))?.data).toEqual({ private_key: "k", public_key: "p" });
    expect(await mirror.sync(values.keys(), current)).toEqual({ written: 0, removed: 0 });
    expect((await kv.read("pw/database_password"))?.version).toBe(1);
    values.set("database_password", "two");
    values.delete("nova_ssh_key");
    expect(await mirror.sync(["database_password", "nova_ssh_key"], current)).toEqual({
      written: 1,
      removed: 1,
    });
    expect(await kv.read("pw/database_password")).toEqual({
      data: { password: "two" },
      version: 2,
    });
    expect(await kv.read("pw/nova_ssh_key")).toBeUndefined();
  });

  it("a copy that failed stays pending and is written by the next sync", async () => {
    const operator = await operatorFor("site", kollaOperatorRules(layout));
    const mirror = createKollaMirror({ client: operator, layout });
    let failing = true;
    const current = async (name: string) => {
      if (failing && name === "glance_keystone_password") throw new Error("store unreachable");
      return "value";
    };
    const failure = await mirror.sync(["glance_keystone_password"], current).catch((e) => e);
    expect(ERRORS.STRONGROOM_ERR_KOLLA_VAULT.is(failure)).toBe(true);
    expect(String(failure.message)).toContain("glance_keystone_password");
    failing = false;
    expect(await mirror.sync([], current)).toEqual({ written: 1, removed: 0 });
  });

  it("kolla-readpwd's AppRole reads and lists kolla's path only, and goes when kolla_vault does", async () => {
    const operator = await operatorFor("site", kollaOperatorRules(layout));
    const access = await bootstrapKollaAccess(operator, manifest);
    expect(access).toEqual({
      mount: "kolla",
      path: "pw",
      role: "site.kolla-readpwd",
      policy: "strongroom-site.kolla-readpwd",
    });
    const roleId = (await operator.read("auth/approle/role/site.kolla-readpwd/role-id")).data
      .role_id;
    const secretId = (await operator.write("auth/approle/role/site.kolla-readpwd/secret-id", {}))
      .data.secret_id;
    const login = await createVaultClient({ addr: vault.addr }).approleLogin({
      role_id: roleId,
      secret_id: secretId,
    });
    const token = createVaultClient({ addr: vault.addr, token: login.auth.client_token });
    const reader = new KvV2(token, layout.mount);
    expect((await reader.read("pw/database_password"))?.data).toEqual({ password: "two" });
    expect(await reader.list("pw/")).toContain("database_password");
    await expect(reader.write("pw/database_password", { password: "x" })).rejects.toThrow(/403/);
    const own = new KvV2(token, "secret");
    await expect(own.read("strongroom/site/secrets/database_password")).rejects.toThrow(/403/);
    // kolla_vault switched off: the reader's AppRole and policy go, the copy stays.
    expect(await bootstrapKollaAccess(operator, manifestOf("site", ""))).toBeUndefined();
    await expect(operator.read("auth/approle/role/site.kolla-readpwd")).rejects.toThrow(/404/);
    expect((await new KvV2(root, layout.mount).read("pw/database_password"))?.data).toEqual({
      password: "two",
    });
  });

  it("refuses, with what to do, an operator token made without access to kolla's path, and a service named kolla-readpwd", async () => {
    const operator = await operatorFor("late", []);
    const late = manifestOf("late", ", kolla_vault: { mount: kolla, path: late }");
    const refused = await bootstrapKollaAccess(operator, late).catch((e) => e);
    expect(ERRORS.STRONGROOM_ERR_KOLLA_VAULT.is(refused)).toBe(true);
    expect(refused.message).toMatch(/may not write kolla\/late.*before that first `up`/);
    const reserved = manifestOf("site", ", kolla_vault: {}", "kolla-readpwd");
    const clash = await bootstrapKollaAccess(operator, reserved).catch((e) => e);
    expect(ERRORS.STRONGROOM_ERR_CONFIG.is(clash)).toBe(true);
  });
});

/**
 * Auth methods never issue root tokens (Vault: "auth methods cannot create root tokens", 400):
 * an AppRole role whose token_policies name `root` can be written, but logging in with it is
 * refused, and the refused login leaves no token and spends no secret-id use.
 */
import nodeVault from "node-vault";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InProcessVault, startInProcessVault } from "../../helpers/embedded-vault-http.js";
import { rawRequest, vaultError } from "../../helpers/vault-http.js";

let server: InProcessVault;

const vault = (token: string | undefined = server.rootToken) =>
  nodeVault({ endpoint: server.addr, token });

beforeAll(async () => {
  server = await startInProcessVault();
  await vault().enableAuth({ mount_point: "approle", type: "approle" });
  await vault().enableAuth({ mount_point: "apps/approle", type: "approle" });
});
afterAll(async () => {
  await server?.close();
});

async function credentials(mount: string, role: string, settings: Record<string, unknown>) {
  await vault().write(`auth/${mount}/role/${role}`, settings);
  const roleId = (await vault().getApproleRoleId({ mount_point: mount, role_name: role })).data
    .role_id as string;
  const secretId = (await vault().getApproleRoleSecret({ mount_point: mount, role_name: role }))
    .data.secret_id as string;
  return { role_id: roleId, secret_id: secretId };
}

describe("auth-method logins never carry the root policy", () => {
  it.each([
    ["root alone", { token_policies: "root" }],
    ["root among others", { token_policies: "default,root,app" }],
    ["root in capitals, padded", { token_policies: [" ROOT "] }],
    ["root as the legacy `policies` field", { policies: "root" }],
    ["root with a periodic, never-expiring setup", { token_policies: "root", token_period: 0 }],
  ])("refuses an AppRole login whose role grants %s", async (_label, settings) => {
    const role = `r${Math.random().toString(36).slice(2, 10)}`;
    const login = await credentials("approle", role, settings);
    const refused = await vaultError(vault(undefined).approleLogin(login));
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ errors: ["auth methods cannot create root tokens"] });
  });

  it("refuses it on an approle mount at any path, and without a bound secret-id", async () => {
    await vault().write("auth/apps/approle/role/unbound", {
      token_policies: "root",
      bind_secret_id: false,
      secret_id_bound_cidrs: "127.0.0.0/8",
    });
    const roleId = (
      await vault().getApproleRoleId({ mount_point: "apps/approle", role_name: "unbound" })
    ).data.role_id as string;
    const answer = await rawRequest(server.addr, {
      method: "POST",
      path: "/v1/auth/apps/approle/login",
      body: { role_id: roleId },
    });
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ errors: ["auth methods cannot create root tokens"] });
  });

  it("leaves no token behind and does not spend the secret-id's use", async () => {
    const login = await credentials("approle", "once", {
      token_policies: "root",
      secret_id_num_uses: 1,
    });
    const listed = async () =>
      (
        await rawRequest(server.addr, {
          path: "/v1/auth/token/accessors?list=true",
          token: server.rootToken,
        })
      ).json.data.keys as string[];
    const before = await listed();
    expect((await vaultError(vault(undefined).approleLogin(login))).status).toBe(400);
    expect(await listed()).toEqual(before);

    // Once the role no longer grants root, the same (unspent) secret-id logs in.
    await vault().write("auth/approle/role/once", { token_policies: "default" });
    const ok = await vault(undefined).approleLogin(login);
    expect(ok.auth.policies).toEqual(["default"]);
    expect(ok.auth.lease_duration).toBeGreaterThan(0);
  });

  it("still lets a root token create a root child through auth/token/create", async () => {
    const created = await vault().tokenCreate({ policies: ["root"] });
    expect(created.auth.policies).toEqual(["root"]);
  });

  it("keeps ordinary AppRole logins working", async () => {
    const login = await credentials("approle", "web", { token_policies: "app", token_ttl: 600 });
    const ok = await vault(undefined).approleLogin(login);
    expect(ok.auth.policies).toEqual(["app", "default"]);
    expect(ok.auth.lease_duration).toBe(600);
  });
});

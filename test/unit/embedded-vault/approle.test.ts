import { beforeEach, describe, expect, it } from "vitest";
import { createAppRoleBackend } from "../../../src/embedded-vault/backends/approle/index.js";
import { TokenStore } from "../../../src/embedded-vault/backends/token-store.js";
import { VaultError } from "../../../src/embedded-vault/errors.js";
import type {
  LogicalBackend,
  LogicalRequest,
  LogicalResponse,
  MountEntry,
  Operation,
} from "../../../src/embedded-vault/types.js";
import { memoryStorageView } from "../../helpers/memory-storage-view.js";

const T0 = 1_700_000_000_000;
const mount: MountEntry = {
  path: "auth/approle/",
  type: "approle",
  description: "",
  accessor: "auth_approle_0000",
  uuid: "22222222-2222-2222-2222-222222222222",
  local: false,
  seal_wrap: false,
  options: null,
  config: {},
  storagePrefix: "auth/22222222-2222-2222-2222-222222222222/",
};

let clock: number;
let tx: ReturnType<typeof memoryStorageView>;
let store: TokenStore;
let backend: LogicalBackend;

const advance = (seconds: number) => {
  clock += seconds * 1000;
};

function request(
  operation: Operation,
  path: string,
  data: Record<string, unknown> = {},
  remoteAddress = "127.0.0.1",
): LogicalRequest {
  return {
    id: "req-1",
    operation,
    path,
    mount,
    data,
    query: {},
    storage: tx.sub(mount.storagePrefix),
    tx,
    token: path === "login" ? undefined : store.lookup(tx, "rootid"),
    connection: { remoteAddress },
    now: new Date(clock),
  };
}

function call(
  operation: Operation,
  path: string,
  data?: Record<string, unknown>,
  remote?: string,
): LogicalResponse {
  return backend.handle(request(operation, path, data, remote)) as LogicalResponse;
}

function callError(...args: Parameters<typeof call>): VaultError {
  try {
    call(...args);
  } catch (error) {
    if (error instanceof VaultError) return error;
    throw error;
  }
  throw new Error("expected a VaultError");
}

function roleIdOf(name: string): string {
  return call("read", `role/${name}/role-id`).data?.role_id as string;
}

function newSecretId(name: string, data: Record<string, unknown> = {}) {
  return call("update", `role/${name}/secret-id`, data).data as {
    secret_id: string;
    secret_id_accessor: string;
    secret_id_ttl: number;
    secret_id_num_uses: number;
  };
}

const login = (role_id: unknown, secret_id?: unknown, remote?: string) =>
  call("update", "login", { role_id, secret_id }, remote);

beforeEach(() => {
  clock = T0;
  tx = memoryStorageView();
  store = new TokenStore({ now: () => clock });
  store.createRoot(tx, "rootid");
  backend = createAppRoleBackend(store);
});

describe("roles", () => {
  it("only login is unauthenticated", () => {
    expect(backend.unauthenticatedPaths).toEqual(["login"]);
  });

  it("creates with defaults and reads back Vault's field names", () => {
    expect(backend.exists?.(request("update", "role/web"))).toBe(false);
    expect(call("create", "role/web", { token_policies: "web,db", token_ttl: "1h" })).toEqual({});
    expect(backend.exists?.(request("update", "role/web"))).toBe(true);
    expect(backend.exists?.(request("update", "role/web/secret-id"))).toBe(true);
    expect(call("read", "role/web").data).toEqual({
      bind_secret_id: true,
      local_secret_ids: false,
      secret_id_bound_cidrs: [],
      secret_id_num_uses: 0,
      secret_id_ttl: 0,
      token_bound_cidrs: [],
      token_explicit_max_ttl: 0,
      token_max_ttl: 0,
      token_no_default_policy: false,
      token_num_uses: 0,
      token_period: 0,
      token_policies: ["web", "db"],
      token_ttl: 3600,
      token_type: "default",
      policies: ["web", "db"],
      period: 0,
    });
  });

  it("updates only the given fields and accepts the legacy names", () => {
    call("create", "role/web", { token_policies: ["web"], secret_id_ttl: "10m" });
    call("update", "role/web", { policies: ["a", "b"], period: 60 });
    expect(call("read", "role/web").data).toMatchObject({
      token_policies: ["a", "b"],
      token_period: 60,
      secret_id_ttl: 600,
    });
  });

  it("lists, deletes and 404s", () => {
    expect(callError("list", "role/").status).toBe(404);
    call("create", "role/web", {});
    call("create", "role/db", {});
    expect(call("list", "role/").data).toEqual({ keys: ["db", "web"] });
    const { secret_id } = newSecretId("web");
    const roleId = roleIdOf("web");
    expect(call("delete", "role/web")).toEqual({});
    expect(callError("read", "role/web").status).toBe(404);
    expect(callError("update", "login", { role_id: roleId, secret_id }).status).toBe(400);
    expect([...tx.store.keys()].filter((k) => k.includes("secret_id/web"))).toEqual([]);
  });

  it("validates fields", () => {
    const errors = (data: Record<string, unknown>) => callError("create", "role/x", data).errors;
    expect(errors({ bind_secret_id: false })).toEqual([
      "at least one constraint should be enabled on the role",
    ]);
    expect(errors({ token_ttl: "2h", token_max_ttl: "1h" })).toEqual([
      "token_ttl should not be greater than token_max_ttl",
    ]);
    expect(errors({ secret_id_num_uses: -1 })).toEqual(["secret_id_num_uses cannot be negative"]);
    expect(errors({ token_bound_cidrs: "10.0.0.0/8" })).toEqual([
      "token_bound_cidrs is not supported by this server",
    ]);
    expect(errors({ token_type: "weird" })).toEqual(["invalid 'token_type' value \"weird\""]);
    expect(errors({ secret_id_bound_cidrs: "nonsense" })[0]).toMatch(/invalid CIDR/);
    expect(callError("create", "role/bad name", {}).status).toBe(404);
  });

  it("role-id can be read and replaced, and must stay unique", () => {
    call("create", "role/web", {});
    call("create", "role/db", {});
    expect(roleIdOf("web")).toMatch(/^[0-9a-f-]{36}$/);
    call("update", "role/web/role-id", { role_id: "web-role-id" });
    expect(roleIdOf("web")).toBe("web-role-id");
    expect(callError("update", "role/db/role-id", { role_id: "web-role-id" }).errors).toEqual([
      "role_id already in use",
    ]);
    const { secret_id } = newSecretId("web");
    expect(login("web-role-id", secret_id).auth?.metadata).toEqual({ role_name: "web" });
  });

  it("per-field endpoints read, write and reset one field", () => {
    call("create", "role/web", { token_policies: "web" });
    expect(call("read", "role/web/policies").data).toEqual({
      token_policies: ["web"],
      policies: ["web"],
    });
    call("update", "role/web/token-ttl", { token_ttl: "20m" });
    expect(call("read", "role/web/token-ttl").data).toEqual({ token_ttl: 1200 });
    call("delete", "role/web/token-ttl");
    expect(call("read", "role/web/token-ttl").data).toEqual({ token_ttl: 0 });
    expect(callError("update", "role/web/secret-id-ttl", {}).errors).toEqual([
      "missing secret_id_ttl",
    ]);
    expect(callError("read", "role/web/constructor").status).toBe(404);
  });
});

describe("secret IDs", () => {
  beforeEach(() => {
    call("create", "role/web", { token_policies: "web", secret_id_ttl: "10m" });
  });

  it("generates, lists, looks up and destroys", () => {
    const generated = newSecretId("web", { metadata: '{"host":"node1"}' });
    expect(Object.keys(generated).sort()).toEqual([
      "secret_id",
      "secret_id_accessor",
      "secret_id_num_uses",
      "secret_id_ttl",
    ]);
    expect(generated.secret_id_ttl).toBe(600);
    expect(call("list", "role/web/secret-id/").data).toEqual({
      keys: [generated.secret_id_accessor],
    });

    const bySecret = call("update", "role/web/secret-id/lookup", {
      secret_id: generated.secret_id,
    }).data;
    expect(bySecret).toMatchObject({
      secret_id_accessor: generated.secret_id_accessor,
      metadata: { host: "node1" },
      secret_id_ttl: 600,
      creation_time: new Date(T0).toISOString(),
      expiration_time: new Date(T0 + 600_000).toISOString(),
    });
    expect(JSON.stringify(bySecret)).not.toContain(generated.secret_id);
    const byAccessor = call("update", "role/web/secret-id-accessor/lookup", {
      secret_id_accessor: generated.secret_id_accessor,
    }).data;
    expect(byAccessor).toEqual(bySecret);

    call("update", "role/web/secret-id-accessor/destroy", {
      secret_id_accessor: generated.secret_id_accessor,
    });
    expect(callError("list", "role/web/secret-id/").status).toBe(404);
    const other = newSecretId("web");
    call("update", "role/web/secret-id/destroy", { secret_id: other.secret_id });
    expect(
      callError("update", "role/web/secret-id/lookup", { secret_id: other.secret_id }).status,
    ).toBe(404);
  });

  it("are never stored in plaintext", () => {
    const { secret_id } = newSecretId("web");
    const custom = call("update", "role/web/custom-secret-id", { secret_id: "my-custom-secret" })
      .data?.secret_id;
    expect(custom).toBe("my-custom-secret");
    const everything = [...tx.store.entries()]
      .map(([key, value]) => key + Buffer.from(value).toString("utf8"))
      .join("\n");
    expect(everything).not.toContain(secret_id);
    expect(everything).not.toContain("my-custom-secret");
    expect(
      callError("update", "role/web/custom-secret-id", { secret_id: "my-custom-secret" }).errors,
    ).toEqual(["SecretID is already registered"]);
  });

  it("per-secret limits cannot exceed the role's", () => {
    call("update", "role/web", { secret_id_num_uses: 3 });
    expect(callError("update", "role/web/secret-id", { num_uses: 5 }).errors).toEqual([
      "num_uses cannot be higher than the role's secret_id_num_uses",
    ]);
    expect(callError("update", "role/web/secret-id", { ttl: "1h" }).errors).toEqual([
      "ttl cannot be longer than the role's secret_id_ttl",
    ]);
    expect(newSecretId("web", { num_uses: 2, ttl: "1m" })).toMatchObject({
      secret_id_num_uses: 2,
      secret_id_ttl: 60,
    });
  });

  it("expire at their TTL to the millisecond, as Vault's, and login is then refused", () => {
    call("update", "role/web", { secret_id_ttl: 0 });
    clock = T0 + 900; // 0.9 s into a second: a whole-second clock would end it 0.9 s early
    const { secret_id, secret_id_ttl } = newSecretId("web", { ttl: "2s" });
    expect(secret_id_ttl).toBe(2);
    const roleId = roleIdOf("web");
    advance(1.95);
    expect(login(roleId, secret_id).auth?.client_token).toEqual(expect.any(String));
    advance(0.05); // exactly at the expiration time: still valid (Vault: expired once after it)
    expect(login(roleId, secret_id).auth?.client_token).toEqual(expect.any(String));
    advance(0.001);
    const refused = callError("update", "login", { role_id: roleId, secret_id });
    expect(refused.status).toBe(400);
    expect(refused.errors).toEqual(["invalid role or secret ID"]);
    expect(callError("list", "role/web/secret-id/").status).toBe(404);
  });

  it("need an existing role that binds secret IDs", () => {
    expect(callError("update", "role/nope/secret-id").errors).toEqual([
      'role "nope" does not exist',
    ]);
    call("create", "role/cidr", { bind_secret_id: false, secret_id_bound_cidrs: "10.0.0.0/8" });
    expect(callError("update", "role/cidr/secret-id").errors).toEqual([
      "bind_secret_id is not set on the role",
    ]);
  });
});

describe("login", () => {
  let roleId: string;

  beforeEach(() => {
    call("create", "role/web", { token_policies: "web", token_ttl: "20m", token_max_ttl: "1h" });
    roleId = roleIdOf("web");
  });

  it("issues an orphan token with the role's policies", () => {
    const { secret_id } = newSecretId("web", { metadata: '{"host":"node1"}' });
    const auth = login(roleId, secret_id).auth!;
    expect(auth).toMatchObject({
      policies: ["default", "web"],
      token_policies: ["default", "web"],
      metadata: { host: "node1", role_name: "web" },
      lease_duration: 1200,
      renewable: true,
      orphan: true,
      token_type: "service",
    });
    const entry = store.lookup(tx, auth.client_token)!;
    expect(entry).toMatchObject({
      path: "auth/approle/login",
      display_name: "approle",
      orphan: true,
      role_name: "web",
    });
    // token_max_ttl bounds renewals without showing up as explicit_max_ttl.
    expect(entry.explicit_max_ttl).toBe(0);
    const renew = () => store.authResponse(store.renew(tx, entry)).lease_duration;
    advance(15 * 60);
    expect(renew()).toBe(1200);
    advance(15 * 60);
    expect(renew()).toBe(1200);
    advance(15 * 60);
    expect(renew()).toBe(900);
  });

  it("reports missing and invalid credentials with 400", () => {
    const { secret_id } = newSecretId("web");
    const cases: [unknown, unknown, string][] = [
      [undefined, secret_id, "missing role_id"],
      ["  ", secret_id, "missing role_id"],
      ["not-a-role", secret_id, "invalid role or secret ID"],
      [roleId, null, "missing secret_id"],
      [roleId, "wrong", "invalid role or secret ID"],
    ];
    for (const [role, secret, message] of cases) {
      const error = callError("update", "login", { role_id: role, secret_id: secret });
      expect([error.status, error.errors]).toEqual([400, [message]]);
    }
  });

  it("a secret ID with num_uses 1 logs in once", () => {
    const { secret_id } = newSecretId("web", { num_uses: 1 });
    expect(login(roleId, secret_id).auth?.client_token).toBeDefined();
    expect(callError("update", "login", { role_id: roleId, secret_id }).errors).toEqual([
      "invalid role or secret ID",
    ]);
  });

  it("counts uses down", () => {
    const { secret_id } = newSecretId("web", { num_uses: 2 });
    login(roleId, secret_id);
    expect(
      call("update", "role/web/secret-id/lookup", { secret_id }).data?.secret_id_num_uses,
    ).toBe(1);
    login(roleId, secret_id);
    expect(callError("update", "login", { role_id: roleId, secret_id }).status).toBe(400);
  });

  it("expired secret IDs are invalid", () => {
    const { secret_id } = newSecretId("web", { ttl: "60s" });
    advance(59);
    login(roleId, secret_id);
    advance(1.001);
    expect(callError("update", "login", { role_id: roleId, secret_id }).errors).toEqual([
      "invalid role or secret ID",
    ]);
    expect(call("update", "tidy/secret-id")).toEqual({});
  });

  it("enforces CIDR bindings without consuming a use on refusal", () => {
    call("update", "role/web", { secret_id_bound_cidrs: ["10.0.0.0/8", "fd00::/8"] });
    const { secret_id } = newSecretId("web", { num_uses: 1, cidr_list: "10.1.0.0/16" });
    expect(callError("update", "login", { role_id: roleId, secret_id }, "10.2.0.1").status).toBe(
      400,
    );
    expect(login(roleId, secret_id, "::ffff:10.1.2.3").auth).toBeDefined();
    expect(
      callError("update", "role/web/secret-id", { cidr_list: "192.168.0.0/16" }).errors,
    ).toEqual(["failed to verify the CIDR restrictions set on the secret ID"]);
  });

  it("roles without bind_secret_id rely on the CIDR binding alone", () => {
    call("create", "role/net", { bind_secret_id: false, secret_id_bound_cidrs: "127.0.0.0/8" });
    const netRoleId = roleIdOf("net");
    expect(login(netRoleId).auth?.metadata).toEqual({ role_name: "net" });
    expect(callError("update", "login", { role_id: netRoleId }, "192.0.2.1").status).toBe(400);
  });

  it("only accepts writes", () => {
    expect(callError("read", "login").status).toBe(405);
  });
});

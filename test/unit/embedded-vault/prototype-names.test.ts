/**
 * Names that are also members of Object.prototype, used everywhere a request names something:
 * the route, a mount, a path inside a mount, a policy, a role, a KV data key, a JSON body key, a
 * query parameter. Each gets Vault's answer (a 4xx with `{"errors": [...]}` where Vault gives
 * one), never a 500 or a dropped connection, and the server stays healthy.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InProcessVault, startInProcessVault } from "../../helpers/embedded-vault-http.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";
import { type RawRequestOptions, type RawResponse, rawRequest } from "../../helpers/vault-http.js";

const NAMES = ["__proto__", "constructor", "prototype", "hasOwnProperty", "toString", "valueOf"];

let server: InProcessVault;
const tempDir = useTempDirs("strongroom-prototype-names-");

function call(options: RawRequestOptions): Promise<RawResponse> {
  return rawRequest(server.addr, { token: server.rootToken, ...options });
}

/** A JSON object with `name` as an own key (an object literal would set the prototype). */
function keyed(name: string, value: unknown): Record<string, unknown> {
  return JSON.parse(`{${JSON.stringify(name)}: ${JSON.stringify(value)}}`);
}

function expectVaultError(answer: RawResponse, status: number): void {
  expect(answer.status, answer.text).toBe(status);
  expect(Array.isArray(answer.json?.errors), answer.text).toBe(true);
}

beforeAll(async () => {
  server = await startInProcessVault();
  await call({ method: "POST", path: "/v1/sys/mounts/kv1", body: { type: "kv" } });
  await call({ method: "POST", path: "/v1/sys/auth/approle", body: { type: "approle" } });
});

afterAll(async () => {
  const health = await rawRequest(server.addr, { path: "/v1/sys/health" });
  expect(health.status).toBe(200);
  expect(server.log.filter((line) => line.startsWith("internal error"))).toEqual([]);
  await server.close();
});

describe.each(NAMES)("the name %s", (name) => {
  it("as the first path segment: 404 no handler, for every method, with or without //", async () => {
    for (const path of [`/v1/${name}`, `/v1//${name}`, `/v1/${name}/x`, `/v1//${name}/x`]) {
      for (const method of ["GET", "POST", "PUT", "DELETE", "LIST"]) {
        const answer = await call({ method, path, body: method === "POST" ? {} : undefined });
        expectVaultError(answer, 404);
        expect(answer.json.errors[0]).toMatch(
          /^no handler for route ".*". route entry not found\.$/,
        );
      }
    }
  });

  it("as a section of a KV v2 mount: Vault's invalid-path 404, never a handler", async () => {
    for (const method of ["GET", "POST", "PUT", "DELETE"]) {
      const answer = await call({
        method,
        path: `/v1/secret/${name}/x`,
        body: method === "POST" || method === "PUT" ? { data: { a: "1" } } : undefined,
      });
      expect(answer.status, `${method}: ${answer.text}`).toBe(404);
      expect(answer.json.warnings[0]).toMatch(/^Invalid path for a versioned K\/V secrets engine/);
    }
  });

  it("as a sys/ path and as an auth/ mount that does not exist: 4xx with errors", async () => {
    for (const path of [`/v1/sys/${name}`, `/v1/auth/${name}`, `/v1/auth/${name}/login`]) {
      for (const method of ["GET", "POST", "DELETE"]) {
        const answer = await call({ method, path, body: method === "POST" ? {} : undefined });
        expect(answer.status, `${method} ${path}: ${answer.text}`).toBeGreaterThanOrEqual(400);
        expect(answer.status, `${method} ${path}: ${answer.text}`).toBeLessThan(500);
        expect(Array.isArray(answer.json?.errors), answer.text).toBe(true);
      }
    }
  });

  it("as a mount type and as a legacy policy level: 400", async () => {
    expectVaultError(
      await call({ method: "POST", path: "/v1/sys/mounts/m-type", body: { type: name } }),
      400,
    );
    expectVaultError(
      await call({ method: "POST", path: "/v1/sys/auth/a-type", body: { type: name } }),
      400,
    );
    const legacy = await call({
      method: "PUT",
      path: `/v1/sys/policies/acl/legacy`,
      body: { policy: `path "secret/*" { policy = "${name}" }` },
    });
    expectVaultError(legacy, 400);
    expect(legacy.json.errors[0]).toContain("invalid policy");
  });

  it("as a KV v2 mount, secret path and data key, written, patched, read and listed", async () => {
    const mount = `/v1/${name}`;
    const enabled = await call({
      method: "POST",
      path: `/v1/sys/mounts/${name}`,
      body: { type: "kv", options: { version: "2", ...keyed(name, "x") } },
    });
    expect(enabled.status, enabled.text).toBe(204);
    const data = { ...keyed(name, "v1"), nested: keyed(name, keyed(name, 1)) };
    const written = await call({
      method: "POST",
      path: `${mount}/data/${name}`,
      body: { data, options: {} },
    });
    expect(written.status, written.text).toBe(200);
    const patched = await call({
      method: "PATCH",
      path: `${mount}/data/${name}`,
      headers: { "Content-Type": "application/merge-patch+json" },
      body: { data: { ...keyed(name, "v2"), extra: keyed(name, true) } },
    });
    expect(patched.status, patched.text).toBe(200);
    const read = await call({ path: `${mount}/data/${name}?${encodeURIComponent(name)}=1` });
    expect(read.status, read.text).toBe(200);
    expect(read.json.data.data).toEqual({
      ...keyed(name, "v2"),
      nested: keyed(name, keyed(name, 1)),
      extra: keyed(name, true),
    });
    const custom = await call({
      method: "POST",
      path: `${mount}/metadata/${name}`,
      body: { custom_metadata: keyed(name, "m"), ...keyed(name, 1) },
    });
    expect(custom.status, custom.text).toBe(200);
    expect(custom.json.warnings).toEqual([
      `Endpoint ignored these unrecognized parameters: [${name}]`,
    ]);
    const metadata = await call({ path: `${mount}/metadata/${name}` });
    expect(metadata.json.data.custom_metadata).toEqual(keyed(name, "m"));
    const listed = await call({ method: "LIST", path: `${mount}/metadata/` });
    expect(listed.json.data.keys).toEqual([name]);
    const info = await call({ path: `/v1/sys/mounts/${name}` });
    expect(info.json.data.options).toEqual({ ...keyed(name, "x"), version: "2" });
    expect((await call({ method: "DELETE", path: `/v1/sys/mounts/${name}` })).status).toBe(204);
    expect((await call({ path: `${mount}/data/${name}` })).status).toBe(404);
  });

  it("as an audit device option", async () => {
    const path = `/v1/sys/audit/device-${NAMES.indexOf(name)}`;
    const options = {
      file_path: join(tempDir(), `${NAMES.indexOf(name)}.log`),
      ...keyed(name, "x"),
    };
    const enabled = await call({ method: "PUT", path, body: { type: "file", options } });
    expect(enabled.status, enabled.text).toBe(204);
    const devices = await call({ path: "/v1/sys/audit" });
    expect(devices.json.data[`device-${NAMES.indexOf(name)}/`].options).toEqual(options);
    expect((await call({ method: "DELETE", path })).status).toBe(204);
  });

  it("as a KV v1 path and data key, and as a JSON body key next to the known ones", async () => {
    const body = { ...keyed(name, "v"), ttl: "1h" };
    const written = await call({ method: "POST", path: `/v1/kv1/${name}/${name}`, body });
    expect(written.status, written.text).toBe(204);
    const read = await call({ path: `/v1/kv1/${name}/${name}` });
    expect(read.json.data).toEqual(body);
    const listed = await call({ method: "LIST", path: `/v1/kv1/${name}` });
    expect(listed.json.data.keys).toEqual([name]);
    const cubby = await call({ method: "POST", path: `/v1/cubbyhole/${name}`, body });
    expect(cubby.status, cubby.text).toBe(204);
    expect((await call({ path: `/v1/cubbyhole/${name}` })).json.data).toEqual(body);
  });

  it("as a policy name, a policy path, an AppRole role and token metadata", async () => {
    const policy = await call({
      method: "PUT",
      path: `/v1/sys/policies/acl/${name}`,
      body: { policy: `path "kv1/${name}/*" { capabilities = ["read", "list"] }` },
    });
    expect(policy.status, policy.text).toBe(204);
    const role = await call({
      method: "POST",
      path: `/v1/auth/approle/role/${name}`,
      body: { token_policies: name, bind_secret_id: false, secret_id_bound_cidrs: "127.0.0.0/8" },
    });
    expect(role.status, role.text).toBe(204);
    const roleId = (await call({ path: `/v1/auth/approle/role/${name}/role-id` })).json.data
      .role_id;
    const login = await rawRequest(server.addr, {
      method: "POST",
      path: "/v1/auth/approle/login",
      body: { role_id: roleId },
    });
    expect(login.status, login.text).toBe(200);
    // Vault lower-cases policy names.
    expect(login.json.auth.policies).toEqual(["default", name.toLowerCase()].sort());
    const token = login.json.auth.client_token as string;
    const allowed = await rawRequest(server.addr, { path: `/v1/kv1/${name}/${name}`, token });
    expect(allowed.status, allowed.text).toBe(200);

    const caps = await call({
      method: "POST",
      path: "/v1/sys/capabilities",
      body: { token, paths: [name, `kv1/${name}/${name}`] },
    });
    expect(caps.status, caps.text).toBe(200);
    expect(caps.json.data).toEqual({
      ...keyed(name, ["deny"]),
      [`kv1/${name}/${name}`]: ["list", "read"],
    });
    // sys/ answers repeat their data at the top level, as Vault's do.
    expect(Object.hasOwn(caps.json, name)).toBe(true);

    const created = await call({
      method: "POST",
      path: "/v1/auth/token/create",
      body: { meta: keyed(name, "m"), policies: [name] },
    });
    expect(created.status, created.text).toBe(200);
    expect(created.json.auth.metadata).toEqual(keyed(name, "m"));
  });
});

/**
 * The broker, over real sockets, with names that are also members of Object.prototype: as
 * service, group, option and secret names in the manifest (the lookups find exactly them), and
 * in requests (route parameters, query parameters, tokens, JSON body keys, seed documents).
 * Every request is answered with a 2xx or a 4xx `{"error": ...}`, never a 5xx or a dropped
 * connection, and the broker stays healthy. Values are compared, never printed.
 */
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCastellanSource } from "../../../drivers/config-sources/castellan/index.js";
import { createVaultKeyManager } from "../../../drivers/key-managers/vault/index.js";
import { createAuthenticator } from "../../../src/broker/authenticator.js";
import { createBrokerService } from "../../../src/broker/create-broker-service.js";
import { parseManifest } from "../../../src/config/manifest.js";
import { mintServiceCredentials } from "../../../src/vault/bootstrap.js";
import { serviceRoleName } from "../../../src/vault/kv-layout.js";
import { createVaultRecordStore } from "../../../src/vault/record-store.js";
import { createVaultClient } from "../../../src/vault/vault-client.js";
import { type InProcessVault, startInProcessVault } from "../../helpers/embedded-vault-http.js";
import { type RawResponse, rawRequest } from "../../helpers/vault-http.js";
import { buildTestApp, type TestApp } from "./test-app.js";

const NAMES = ["__proto__", "constructor", "prototype", "hasOwnProperty", "toString", "valueOf"];
const DEPLOYMENT = "protos";
const MANIFEST = `
deployment: {name: ${DEPLOYMENT}}
secrets: {constructor: {}, toString: {}, valueOf: {}, hasOwnProperty: {}, prototype: {}}
services:
  constructor:
    options:
      __proto__:
        constructor: {secret: true, value: "{{ secret.constructor }}"}
        __proto__: {default: "proto-default"}
      toString:
        valueOf: {secret: true, value: "a{{ secret.toString }}b"}
        hasOwnProperty: {secret: true, value: "{{ secret.hasOwnProperty }}-{{ secret.valueOf }}-{{ secret.prototype }}"}
  prototype:
    options:
      DEFAULT:
        debug: {default: "false"}
`;
const SEEDED: Record<string, string> = {
  constructor: "c-value",
  toString: "t-value",
  valueOf: "v-value",
  hasOwnProperty: "h-value",
  prototype: "p-value",
};

let vault: InProcessVault;
let t: TestApp;
let addr: string;
let constructorToken: string;
const answers: Array<{ what: string; status: number }> = [];

async function call(
  what: string,
  options: { method?: string; path: string; token?: string; body?: string },
): Promise<RawResponse> {
  const answer = await rawRequest(addr, {
    method: options.method ?? "GET",
    path: options.path,
    headers: {
      authorization: `Bearer ${options.token ?? vault.rootToken}`,
      ...(options.body !== undefined && { "content-type": "application/json" }),
    },
    body: options.body,
  });
  answers.push({ what, status: answer.status });
  return answer;
}

/** A 4xx with the broker's error shape. */
function expectRefused(answer: RawResponse, what: string): void {
  expect(answer.status, `${what}: ${answer.status}`).toBeGreaterThanOrEqual(400);
  expect(answer.status, `${what}: ${answer.status}`).toBeLessThan(500);
  expect(answer.json?.error?.code, what).toMatch(/^STRONGROOM_ERR_/);
}

/** A seed document as JSON, so names stay own keys. */
const seedBody = (entries: Record<string, string>, extra = "") =>
  `{"text": ${JSON.stringify(JSON.stringify(entries))}, "file": "passwords.json"${extra}}`;

beforeAll(async () => {
  vault = await startInProcessVault();
  const manifest = parseManifest(MANIFEST, "/etc/strongroom/manifest.yaml");
  const client = createVaultClient({ addr: vault.addr, token: vault.rootToken });
  const keyManager = createVaultKeyManager({ client, deployment: DEPLOYMENT });
  const broker = createBrokerService({
    manifest,
    keyManager,
    records: createVaultRecordStore({ client, deployment: DEPLOYMENT }),
    sources: [createCastellanSource({ manifest, keyManager })],
    vaultUrl: vault.addr,
    kvMount: "secret",
  });
  const auth = createAuthenticator({
    deployment: DEPLOYMENT,
    services: [...manifest.services.keys()],
    operatorToken: vault.rootToken,
    vault: client,
  });
  t = await buildTestApp({ broker, auth, rateLimit: { enabled: false } });
  await t.app.listen({ host: "127.0.0.1", port: 0 });
  addr = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;

  // A service token for the service named "constructor", as a kit's AppRole login makes it.
  const role = serviceRoleName(DEPLOYMENT, "constructor");
  await client.write("sys/auth/approle", { type: "approle" });
  await client.write(`auth/approle/role/${role}`, {
    token_policies: "default",
    secret_id_bound_cidrs: "127.0.0.0/8",
  });
  const kit = await mintServiceCredentials(client, DEPLOYMENT, "constructor");
  constructorToken = (
    await client.write("auth/approle/login", { role_id: kit.roleId, secret_id: kit.secretId })
  ).auth.client_token;

  const seeded = await call("seed", { method: "POST", path: "/v1/seed", body: seedBody(SEEDED) });
  expect(seeded.status).toBe(200);
});

afterAll(async () => {
  await t?.app.close();
  await vault?.close();
});

describe("manifest names that are Object.prototype members", () => {
  it("resolve to exactly their own options and secrets", async () => {
    const one = async (path: string, token?: string) => {
      const answer = await call(path, { path, token });
      expect(answer.status, path).toBe(200);
      return answer.json.value as string;
    };
    const values = [
      await one("/v1/config/constructor/__proto__/constructor"),
      await one("/v1/config/constructor/__proto__/__proto__", constructorToken),
      await one("/v1/config/constructor/toString/valueOf", constructorToken),
      await one("/v1/config/constructor/toString/hasOwnProperty"),
    ];
    const expected = [
      SEEDED.constructor,
      "proto-default",
      `a${SEEDED.toString}b`,
      `${SEEDED.hasOwnProperty}-${SEEDED.valueOf}-${SEEDED.prototype}`,
    ];
    expect(values.map((v, i) => v === expected[i])).toEqual([true, true, true, true]);

    const all = await call("service", { path: "/v1/config/constructor", token: constructorToken });
    expect(all.status).toBe(200);
    expect(Object.keys(all.json.groups).sort()).toEqual(["__proto__", "toString"]);
    expect(Object.keys(all.json.groups.toString).sort()).toEqual(["hasOwnProperty", "valueOf"]);
    const protoGroup = Object.getOwnPropertyDescriptor(all.json.groups, "__proto__")?.value;
    expect(Object.keys(protoGroup).sort()).toEqual(["__proto__", "constructor"]);

    const ini = await call("ini", { path: "/v1/config/constructor.conf" });
    expect(ini.status).toBe(200);
    expect(ini.text).toContain("[__proto__]\n");
    const secrets = await call("secrets", { path: "/v1/secrets" });
    expect(secrets.json.secrets.map((s: { name: string }) => s.name).sort()).toEqual(
      Object.keys(SEEDED).sort(),
    );
  });

  it("a service's token reaches its own service only", async () => {
    expectRefused(
      await call("other", { path: "/v1/config/prototype/DEFAULT/debug", token: constructorToken }),
      "another service",
    );
    expectRefused(
      await call("operator", { path: "/v1/secrets", token: constructorToken }),
      "an operator route",
    );
  });
});

describe.each(NAMES)("the name %s in requests", (name) => {
  const e = encodeURIComponent(name);

  it("as a route, service, group, option, secret or rotation id: 2xx or a 4xx error", async () => {
    const paths = [
      `/v1/${e}`,
      `/v1//${e}`,
      `/${e}`,
      `/v1/config/${e}`,
      `/v1/config/${e}.conf`,
      `/v1/config/${e}/${e}/${e}`,
      `/v1/config/constructor/${e}/${e}`,
      `/v1/config/constructor/__proto__/${e}`,
      `/v1/config/constructor/toString/${e}`,
      `/v1/castellan/${e}/mapping.conf`,
      `/v1/castellan/${e}/castellan.conf`,
      `/v1/files/${e}`,
      `/v1/secrets/${e}`,
      `/v1/rotations/${e}`,
    ];
    for (const path of paths) {
      const answer = await call(path, { path });
      if (answer.status >= 300) expectRefused(answer, path);
      else expect(answer.status, path).toBe(200);
    }
    for (const path of [
      `/v1/secrets?${e}=1`,
      `/v1/rotations?${e}=1`,
      `/v1/config/constructor?${e}`,
    ]) {
      expect((await call(path, { path })).status, path).toBe(200);
    }
  });

  it("as a token: 401 or 403, never a principal", async () => {
    for (const path of ["/v1/secrets", "/v1/config/constructor", `/v1/config/${e}`]) {
      expectRefused(await call(`token ${path}`, { path, token: name }), `token ${name} ${path}`);
    }
  });

  it("as a JSON body key and in seed documents", async () => {
    const bodies: Array<[string, string]> = [
      [`/v1/secrets/${e}`, `{"value": "x", ${JSON.stringify(name)}: {"a": 1}}`],
      [`/v1/secrets/toString`, `{${JSON.stringify(name)}: "x"}`],
      ["/v1/rotations", `{"secrets": ["toString"], "plan": true, ${JSON.stringify(name)}: true}`],
      ["/v1/seed", seedBody({ NovaPassword: "x" }, `, ${JSON.stringify(name)}: 1`)],
      ["/v1/export", `{"recipients": ["x"], ${JSON.stringify(name)}: 1}`],
    ];
    for (const [path, body] of bodies) {
      const method = path.startsWith("/v1/secrets/") ? "PUT" : "POST";
      expectRefused(await call(`${method} ${path}`, { method, path, body }), `${path} ${name}`);
    }
    const seedDocs = [
      seedBody({ [name]: "x" }),
      `{"text": "[secrets]\\n${name} = x\\n", "file": "passwords.ini"}`,
      `{"text": "KeystoneFernetKeys:\\n  ${name}: {content: x}\\n", "file": "p.yaml", "dry_run": true}`,
    ];
    for (const body of seedDocs) {
      const answer = await call(`seed ${name}`, { method: "POST", path: "/v1/seed", body });
      if (answer.status !== 200) expectRefused(answer, `seed ${body}`);
    }
  });
});

describe("afterwards", () => {
  it("no request got a 5xx, and the broker is healthy", async () => {
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    expect((await rawRequest(addr, { path: "/healthz" })).status).toBe(200);
    expect(vault.log.filter((line) => line.startsWith("internal error"))).toEqual([]);
  });
});

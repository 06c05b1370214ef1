/**
 * 10,000 generated requests against the embedded Vault's HTTP server (in memory, dev mode, with
 * an AppRole mount, a policy and a service token), plus slow clients: no 5xx, no reset, no
 * hang, 413 for bodies past the limit, and no "internal error" in its log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../src/embedded-vault/http/http-server.js";
import { type InProcessVault, startInProcessVault } from "../helpers/embedded-vault-http.js";
import {
  expectSoundUnderFuzz,
  FUZZ_CONNECTION_LIMITS,
  type FuzzRequest,
  type FuzzSpace,
  type FuzzTarget,
  generate,
} from "../helpers/http-fuzz.js";
import { rawRequest } from "../helpers/vault-http.js";

const REQUESTS = 10_000;

const SPACE: FuzzSpace = {
  methods: ["GET", "GET", "POST", "PUT", "DELETE", "LIST", "PATCH", "OPTIONS", "HEAD", "TRACE"],
  prefixes: ["/v1/", "/", "//v1/", "/v1//", "/V1/", "/ui/"],
  words: [
    "sys",
    "auth",
    "token",
    "approle",
    "role",
    "svc",
    "role-id",
    "secret-id",
    "login",
    "secret",
    "data",
    "metadata",
    "kv1",
    "x",
    "mounts",
    "policy",
    "policies",
    "acl",
    "health",
    "seal-status",
    "lookup-self",
    "lookup",
    "create",
    "capabilities-self",
    "internal",
    "leader",
  ],
  routes: [
    "/v1/sys/health",
    "/v1/sys/seal-status",
    "/v1/sys/mounts/{}",
    "/v1/sys/auth/{}",
    "/v1/sys/policy/{}",
    "/v1/sys/policies/acl/{}",
    "/v1/sys/capabilities-self",
    "/v1/auth/token/create",
    "/v1/auth/token/lookup-self",
    "/v1/auth/token/lookup",
    "/v1/auth/token/{}",
    "/v1/auth/approle/role/{}",
    "/v1/auth/approle/role/{}/role-id",
    "/v1/auth/approle/role/{}/secret-id",
    "/v1/auth/approle/login",
    "/v1/secret/data/{}",
    "/v1/secret/data/{}/{}",
    "/v1/secret/metadata/{}",
    "/v1/secret/{}/{}",
    "/v1/kv1/{}",
    "/v1/kv1/{}/{}",
    "/v1/{}/{}",
  ],
  fields: [
    "data",
    "options",
    "cas",
    "version",
    "versions",
    "type",
    "policy",
    "policies",
    "token_policies",
    "role_id",
    "secret_id",
    "ttl",
    "paths",
    "path",
    "token",
    "max_versions",
    "description",
    "config",
  ],
  credentials: ["root", "service", "bad"],
  huge: {
    limitBytes: MAX_BODY_BYTES,
    requests: [
      {
        method: "POST",
        path: "/v1/secret/data/huge",
        credential: "root",
        contentType: "application/json",
      },
      { method: "PUT", path: "/v1/kv1/huge", credential: "service", contentType: undefined },
    ],
  },
};

/**
 * Requests that would change the server itself rather than probe it: sealing it (every later
 * answer a 503 by design), revoking the tokens the fuzzer uses, raw storage, and audit devices
 * (a file device writes wherever it is told).
 */
const DISRUPTIVE = /seal(?!-status)|step-down|revoke|audit|raw|rotate|rekey|generate-root|unseal/i;

function percentDecoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

let vault: InProcessVault;
let target: FuzzTarget;
let requests: FuzzRequest[];

beforeAll(async () => {
  requests = generate(SPACE, REQUESTS).filter(
    (r) => !DISRUPTIVE.test(r.path) && !DISRUPTIVE.test(percentDecoded(r.path)),
  );
  vault = await startInProcessVault(FUZZ_CONNECTION_LIMITS);
  const root = (options: Parameters<typeof rawRequest>[1]) =>
    rawRequest(vault.addr, { token: vault.rootToken, ...options });
  await root({ method: "POST", path: "/v1/sys/mounts/kv1", body: { type: "kv" } });
  await root({ method: "POST", path: "/v1/sys/auth/approle", body: { type: "approle" } });
  await root({
    method: "PUT",
    path: "/v1/sys/policies/acl/svc",
    body: { policy: 'path "secret/data/svc/*" { capabilities = ["read", "list"] }' },
  });
  await root({
    method: "POST",
    path: "/v1/auth/approle/role/svc",
    body: { token_policies: ["svc"] },
  });
  await root({ method: "POST", path: "/v1/secret/data/svc/x", body: { data: { password: "p" } } });
  const created = await root({
    method: "POST",
    path: "/v1/auth/token/create",
    body: { policies: ["svc"], ttl: "1h" },
  });
  const serviceToken: string = created.json.auth.client_token;
  target = {
    host: "127.0.0.1",
    port: Number(new URL(vault.addr).port),
    credentials: {
      root: { header: "x-vault-token", value: vault.rootToken },
      service: { header: "x-vault-token", value: serviceToken },
      bad: { header: "x-vault-token", value: "hvs.not-a-token" },
    },
  };
});

afterAll(async () => {
  await vault?.close();
});

describe("embedded Vault fuzz", () => {
  it(`answers ${REQUESTS} generated requests without a 5xx, a reset or a hang, while slow clients are closed`, async () => {
    expect(requests.length).toBeGreaterThan(REQUESTS * 0.95);
    await expectSoundUnderFuzz(target, requests, ["200", "204", "400", "403", "404", "405", "413"]);
    expect(vault.log.filter((line) => line.startsWith("internal error"))).toEqual([]);
    const health = await rawRequest(vault.addr, { path: "/v1/sys/health" });
    expect(health.status).toBe(200);
  });
});

import { Agent, request } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createAuthenticator } from "../../../src/broker/authenticator.js";
import { bearerToken, TOKEN_MEMO_MS } from "../../../src/server/auth.js";
import { DEFAULT_RATE_LIMITS } from "../../../src/server/rate-limit.js";
import { asNova, asOperator, buildTestApp, errorOf, type TestApp } from "./test-app.js";

let t: TestApp;
afterEach(async () => {
  await t?.app.close();
});

const castellanCredentials = { "x-strongroom-role-id": "role", "x-strongroom-secret-id": "secret" };

type Who = "operator" | "nova" | "none" | "bad token";
const headersOf: Record<Who, Record<string, string>> = {
  operator: asOperator,
  nova: asNova,
  none: {},
  "bad token": { authorization: "Bearer not-a-token" },
};

/** [method, url, operator, nova (the service itself), anonymous] */
const MATRIX: Array<[string, string, number, number]> = [
  ["GET", "/v1/config/nova/database/connection", 200, 200],
  ["GET", "/v1/config/neutron/database/connection", 200, 403],
  ["GET", "/v1/config/nova", 200, 200],
  ["GET", "/v1/config/neutron", 200, 403],
  ["GET", "/v1/config/nova.conf", 200, 200],
  ["GET", "/v1/config/neutron.conf", 200, 403],
  ["GET", "/v1/castellan/nova/mapping.conf", 200, 200],
  ["GET", "/v1/castellan/neutron/mapping.conf", 200, 403],
  ["GET", "/v1/castellan/nova/castellan.conf", 200, 403],
  ["GET", "/v1/files/nova", 200, 200],
  ["GET", "/v1/files/neutron", 200, 403],
  ["GET", "/v1/secrets", 200, 403],
  ["PUT", "/v1/secrets/NovaPassword", 200, 403],
  ["POST", "/v1/seed", 200, 403],
  // An empty body is refused (400) only once the caller may make the request at all.
  ["POST", "/v1/rotations", 400, 403],
  ["GET", "/v1/rotations", 200, 403],
  ["GET", "/v1/rotations/r1", 404, 403],
  ["POST", "/v1/export", 400, 403],
];

const payloadFor = (method: string, url: string) =>
  url.startsWith("/v1/secrets/")
    ? { value: "v" }
    : url === "/v1/seed"
      ? { text: "A: b\n" }
      : method === "POST"
        ? {}
        : undefined;

describe("authorization matrix", () => {
  it.each(MATRIX)(
    "%s %s: operator %i, nova %i, anonymous 401, bad token 401",
    async (method, url, operator, nova) => {
      t = await buildTestApp();
      const expected: Record<Who, number> = { operator, nova, none: 401, "bad token": 401 };
      for (const who of Object.keys(expected) as Who[]) {
        const res = await t.app.inject({
          method: method as "GET",
          url,
          headers: {
            ...headersOf[who],
            ...(url.endsWith("castellan.conf") ? castellanCredentials : {}),
          },
          payload: payloadFor(method, url),
        });
        expect({ who, status: res.statusCode }).toEqual({ who, status: expected[who] });
        if (res.statusCode === 401)
          expect(errorOf(res.body).code).toBe("STRONGROOM_ERR_UNAUTHENTICATED");
        if (res.statusCode === 403) expect(errorOf(res.body).code).toBe("STRONGROOM_ERR_FORBIDDEN");
      }
    },
  );

  it("answers a service 403 for a service that does not exist, and the operator 404", async () => {
    t = await buildTestApp();
    for (const url of [
      "/v1/config/glance/database/connection",
      "/v1/config/glance",
      "/v1/config/glance.conf",
    ]) {
      expect((await t.app.inject({ url, headers: asNova })).statusCode).toBe(403);
      expect((await t.app.inject({ url, headers: asOperator })).statusCode).toBe(404);
    }
  });

  it("refuses before validating: a service sending a malformed request for another service gets 403", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({ url: "/v1/config/neutron/bad group!/x", headers: asNova });
    expect(res.statusCode).toBe(403);
  });

  it("does not read a body for an anonymous caller", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/seed",
      payload: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(res.statusCode).toBe(401);
  });

  it("lets a bad token fail rather than fall back to anything else", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({
      url: "/v1/config/nova",
      headers: { authorization: "Bearer nope", "x-vault-token": "nova-token" },
    });
    expect(res.statusCode).toBe(401);
  });

  it("decorates the request with the principal", async () => {
    let seen: unknown;
    t = await buildTestApp({}, (app) =>
      app.addHook("onResponse", async (request) => {
        seen = request.principal;
      }),
    );
    await t.app.inject({ url: "/v1/config/nova", headers: asNova });
    expect(seen).toEqual({ kind: "service", service: "nova" });
  });

  it("answers 500 (internal error) when the authenticator fails", async () => {
    t = await buildTestApp();
    t.auth.fromToken = async () => {
      throw new Error("vault unreachable at https://10.0.0.1:8200");
    };
    const res = await t.app.inject({ url: "/v1/config/nova", headers: asNova });
    expect(res.statusCode).toBe(500);
    expect(errorOf(res.body)).toEqual({
      code: "STRONGROOM_ERR_INTERNAL",
      message: "internal error",
    });
  });

  it("limits refused attempts per client address, even on the exempt lookup route", async () => {
    t = await buildTestApp({ rateLimit: { authFailure: { max: 3, timeWindow: 60_000 } } });
    const attempt = () =>
      t.app.inject({
        url: "/v1/config/nova/database/connection",
        headers: { "x-vault-token": "guess" },
      });
    for (let i = 0; i < 3; i++) expect((await attempt()).statusCode).toBe(401);
    const limited = await attempt();
    expect(limited.statusCode).toBe(429);
    expect(errorOf(limited.body).code).toBe("STRONGROOM_ERR_RATE_LIMITED");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    // Successful lookups are not limited by it.
    for (let i = 0; i < 5; i++) {
      expect(
        (await t.app.inject({ url: "/v1/config/nova/database/connection", headers: asNova }))
          .statusCode,
      ).toBe(200);
    }
  });
});

describe("a flood of made-up tokens", () => {
  it("asks Vault no more often than the failure limit allows", async () => {
    const lookups: string[] = [];
    const vault = {
      async write(path: string) {
        lookups.push(path);
        throw Object.assign(new Error("Status 403"), { response: { statusCode: 403 } });
      },
    };
    const auth = createAuthenticator({
      deployment: "overcloud",
      services: ["nova"],
      operatorToken: "operator-token-for-tests",
      vault,
    });
    t = await buildTestApp({ auth });
    const statuses = new Map<number, number>();
    for (let i = 0; i < 120; i++) {
      const res = await t.app.inject({
        url: "/v1/config/nova/database/connection",
        headers: { "x-vault-token": `made-up-${i}` },
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    }
    const { max } = DEFAULT_RATE_LIMITS.authFailure;
    expect(lookups).toHaveLength(max);
    expect(Object.fromEntries(statuses)).toEqual({ 401: max, 429: 120 - max });
    // The operator token is known without a lookup: still let through.
    const operator = await t.app.inject({
      url: "/v1/config/nova",
      headers: { authorization: "Bearer operator-token-for-tests" },
    });
    expect(operator.statusCode).toBe(200);
  });
});

describe("token answers per connection", () => {
  afterEach(() => vi.useRealTimers());

  /** The test app listening on loopback, every request over one kept-alive connection. */
  async function overOneConnection() {
    t = await buildTestApp();
    const calls: string[] = [];
    const fromToken = t.auth.fromToken;
    t.auth.fromToken = (token) => {
      calls.push(token);
      return fromToken(token);
    };
    await t.app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const get = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          { host: "127.0.0.1", port, path: "/v1/config/nova/database/connection", headers, agent },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("socket", (socket) => sockets.add(socket));
        req.on("error", reject).end();
      });
    return { calls, get, sockets, close: () => agent.destroy() };
  }

  it("asks the authenticator once per connection for the token it keeps sending", async () => {
    const c = await overOneConnection();
    for (let i = 0; i < 3; i++) expect(await c.get(asOperator)).toBe(200);
    expect(c.calls).toHaveLength(1);
    // Another token on the same connection is authenticated on its own.
    expect(await c.get(asNova)).toBe(200);
    expect(await c.get(asNova)).toBe(200);
    expect(c.calls).toHaveLength(2);
    expect(c.sockets.size).toBe(1);
    c.close();
  });

  it("never remembers a refusal", async () => {
    const c = await overOneConnection();
    expect(await c.get({ authorization: "Bearer guess" })).toBe(401);
    expect(await c.get({ authorization: "Bearer guess" })).toBe(401);
    expect(c.calls).toHaveLength(2);
    c.close();
  });

  it(`asks again once ${TOKEN_MEMO_MS} ms have passed`, async () => {
    const c = await overOneConnection();
    vi.useFakeTimers({ toFake: ["Date"] });
    expect(await c.get(asOperator)).toBe(200);
    vi.setSystemTime(Date.now() + TOKEN_MEMO_MS - 1);
    expect(await c.get(asOperator)).toBe(200);
    expect(c.calls).toHaveLength(1);
    vi.setSystemTime(Date.now() + 2);
    expect(await c.get(asOperator)).toBe(200);
    expect(c.calls).toHaveLength(2);
    c.close();
  });
});

describe("bearerToken", () => {
  it.each([
    [{ authorization: "Bearer abc" }, "abc"],
    [{ authorization: "bearer abc" }, "abc"],
    [{ authorization: "BEARER  abc " }, "abc"],
    [{ "x-vault-token": "hvs.x" }, "hvs.x"],
    [{ authorization: "Basic dXNlcjpwdw==", "x-vault-token": "hvs.x" }, "hvs.x"],
    [{ authorization: "Bearer " }, undefined],
    [{ "x-vault-token": "" }, undefined],
    [{}, undefined],
  ])("%j → %s", (headers, expected) => {
    expect(bearerToken(headers)).toBe(expected);
  });
});

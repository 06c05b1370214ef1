import Fastify from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { errorHandlerPlugin } from "../../../src/server/error-handler.js";
import { helmetHeaders, protectionPlugin } from "../../../src/server/protection.js";
import { asNova, buildTestApp, type TestApp } from "./test-app.js";

let t: TestApp;
afterEach(async () => {
  await t?.app.close();
});

describe("security headers", () => {
  it("are helmet's API set, computed once", async () => {
    expect(await helmetHeaders()).toEqual({
      "content-security-policy": "default-src 'none';frame-ancestors 'none'",
      "cross-origin-resource-policy": "same-origin",
      "referrer-policy": "no-referrer",
      "strict-transport-security": "max-age=31536000; includeSubDomains",
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
    });
  });

  it("go on every answer, errors included, with no-store caching", async () => {
    t = await buildTestApp();
    for (const [url, status] of [
      ["/v1/config/nova/database/connection", 200],
      ["/v1/config/neutron", 403],
      ["/v1/nope", 404],
      ["/healthz", 200],
    ] as const) {
      const res = await t.app.inject({ url, headers: asNova });
      expect(res.statusCode).toBe(status);
      expect(res.headers["cache-control"]).toBe("no-store");
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.headers["strict-transport-security"]).toMatch(/^max-age=/);
      expect(res.headers["x-powered-by"]).toBeUndefined();
    }
  });
});

describe("load shedding", () => {
  /** A busy-wait: what loading a broker's routes does to the event loop on a busy machine. */
  const blockFor = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // blocking on purpose
    }
  };

  it("serves the first requests after a start that blocked the event loop, and sheds load once it lags for real", async () => {
    const app = Fastify({ logger: false });
    await app.register(errorHandlerPlugin);
    await app.register(protectionPlugin);
    await app.register(async () => blockFor(1500));
    app.get("/ping", async () => ({ ok: true }));
    try {
      await app.ready();
      // The sample taken during the start says the loop lagged 1.5 s: not a reason to refuse.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await app.inject("/ping")).statusCode).toBe(200);

      // Later, a loop that really lags sheds load with 503 and Retry-After.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      // A sustained lag: every 10 ms probe of the loop waits 1.2 s (the measure is a mean).
      for (let i = 0; i < 3; i++) {
        blockFor(1200);
        await new Promise((resolve) => setImmediate(resolve));
      }
      const shed = await app.inject("/ping");
      expect(shed.statusCode).toBe(503);
      expect(shed.headers["retry-after"]).toBe("10");
      expect(JSON.parse(shed.body).error.code).toBe("STRONGROOM_ERR_UNAVAILABLE");
    } finally {
      await app.close();
    }
  }, 20_000);
});

import { afterEach, describe, expect, it } from "vitest";
import { helmetHeaders } from "../../../src/server/protection.js";
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

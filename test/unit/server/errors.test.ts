import { readFileSync } from "node:fs";
import type { FastifyError } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { ERRORS, type ErrorCode, StrongroomError } from "../../../src/lib/errors.js";
import { UnavailableError } from "../../../src/server/error-codes.js";
import { toErrorAnswer } from "../../../src/server/error-handler.js";
import { SECRET_VALUE } from "../../helpers/fake-broker.js";
import { asNova, asOperator, buildTestApp, errorOf, type TestApp } from "./test-app.js";

let t: TestApp;
afterEach(async () => {
  await t?.app.close();
});

const expectErrorShape = (body: string) => {
  const parsed = JSON.parse(body);
  expect(Object.keys(parsed)).toEqual(["error"]);
  expect(Object.keys(parsed.error).sort()).toEqual(["code", "message"]);
  expect(parsed.error.code).toMatch(/^STRONGROOM_ERR_[A-Z_]+$/);
  expect(body).not.toMatch(/ at .*\.(ts|js):\d+/);
  expect(body).not.toContain(SECRET_VALUE);
  return parsed.error as { code: string; message: string };
};

describe("error answers", () => {
  it("unknown routes are 404 STRONGROOM_ERR_NOT_FOUND", async () => {
    t = await buildTestApp();
    for (const url of ["/nope", "/v1/nope", "/v2/config/nova"]) {
      const res = await t.app.inject({ url, headers: asOperator });
      expect(res.statusCode).toBe(404);
      expect(expectErrorShape(res.body)).toEqual({
        code: "STRONGROOM_ERR_NOT_FOUND",
        message: "route not found",
      });
    }
  });

  it("validation failures are 400 STRONGROOM_ERR_VALIDATION naming the field, not the value", async () => {
    t = await buildTestApp();
    const put = (payload: object) =>
      t.app.inject({
        method: "PUT",
        url: "/v1/secrets/NovaPassword",
        headers: asOperator,
        payload,
      });
    const wrongType = await put({ value: 42 });
    expect(wrongType.statusCode).toBe(400);
    expect(expectErrorShape(wrongType.body)).toEqual({
      code: "STRONGROOM_ERR_VALIDATION",
      message: "body/value must be string",
    });
    const extraField = await put({ value: "v", [SECRET_VALUE]: SECRET_VALUE });
    expect(extraField.statusCode).toBe(400);
    expect(expectErrorShape(extraField.body).message).toBe(
      "body must NOT have additional properties",
    );
    const badName = await t.app.inject({
      method: "PUT",
      url: "/v1/secrets/9lives",
      headers: asOperator,
      payload: { value: "v" },
    });
    expect(badName.statusCode).toBe(400);
    expect(errorOf(badName.body).message).toContain("params/name");
  });

  it("an empty secret value is refused", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({
      method: "PUT",
      url: "/v1/secrets/NovaPassword",
      headers: asOperator,
      payload: { value: "" },
    });
    expect(res.statusCode).toBe(400);
  });

  it("malformed JSON is 400 STRONGROOM_ERR_BAD_REQUEST and the body is not quoted back", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({
      method: "PUT",
      url: "/v1/secrets/NovaPassword",
      headers: { ...asOperator, "content-type": "application/json" },
      payload: `{"value": ${SECRET_VALUE}}`,
    });
    expect(res.statusCode).toBe(400);
    expect(expectErrorShape(res.body)).toEqual({
      code: "STRONGROOM_ERR_BAD_REQUEST",
      message: "the body is not valid JSON",
    });
  });

  it("a __proto__ or constructor.prototype key is 400 naming the key, not a syntax error", async () => {
    t = await buildTestApp();
    for (const payload of [
      '{"value": "x", "__proto__": {"admin": true}}',
      '{"value": "x", "constructor": {"prototype": {"admin": true}}}',
    ]) {
      const res = await t.app.inject({
        method: "PUT",
        url: "/v1/secrets/NovaPassword",
        headers: { ...asOperator, "content-type": "application/json" },
        payload,
      });
      expect(res.statusCode).toBe(400);
      expect(expectErrorShape(res.body)).toEqual({
        code: "STRONGROOM_ERR_BAD_REQUEST",
        message:
          "the body holds a key JSON bodies may not use here (__proto__ or constructor.prototype)",
      });
    }
  });

  it("an empty JSON body is 400 STRONGROOM_ERR_VALIDATION", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({
      method: "PUT",
      url: "/v1/secrets/NovaPassword",
      headers: { ...asOperator, "content-type": "application/json" },
      payload: "",
    });
    expect(res.statusCode).toBe(400);
    expect(expectErrorShape(res.body)).toEqual({
      code: "STRONGROOM_ERR_VALIDATION",
      message: "the JSON body is empty",
    });
  });

  it("non-JSON bodies are 415 STRONGROOM_ERR_UNSUPPORTED_MEDIA_TYPE", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({
      method: "PUT",
      url: "/v1/secrets/NovaPassword",
      headers: { ...asOperator, "content-type": "text/plain" },
      payload: SECRET_VALUE,
    });
    expect(res.statusCode).toBe(415);
    expect(expectErrorShape(res.body).code).toBe("STRONGROOM_ERR_UNSUPPORTED_MEDIA_TYPE");
  });

  it("bodies above 1 MiB are 413 STRONGROOM_ERR_BODY_TOO_LARGE; seed allows 8 MiB", async () => {
    t = await buildTestApp();
    const put = await t.app.inject({
      method: "PUT",
      url: "/v1/secrets/NovaPassword",
      headers: asOperator,
      payload: { value: "x".repeat(1024 * 1024 + 1) },
    });
    expect(put.statusCode).toBe(413);
    expect(expectErrorShape(put.body)).toEqual({
      code: "STRONGROOM_ERR_BODY_TOO_LARGE",
      message: "request body too large",
    });
    const seed = await t.app.inject({
      method: "POST",
      url: "/v1/seed",
      headers: asOperator,
      payload: { text: "x".repeat(8 * 1024 * 1024 + 1) },
    });
    expect(seed.statusCode).toBe(413);
  });

  it("rate limits answer 429 STRONGROOM_ERR_RATE_LIMITED with Retry-After", async () => {
    t = await buildTestApp({ rateLimit: { read: { max: 2, timeWindow: 60_000 } } });
    const get = () => t.app.inject({ url: "/v1/config/nova", headers: asNova });
    expect((await get()).statusCode).toBe(200);
    expect((await get()).statusCode).toBe(200);
    const limited = await get();
    expect(limited.statusCode).toBe(429);
    const error = expectErrorShape(limited.body);
    expect(error.code).toBe("STRONGROOM_ERR_RATE_LIMITED");
    expect(error.message).toMatch(/^rate limit exceeded, retry in /);
    expect(limited.headers["retry-after"]).toBeDefined();
    expect(limited.headers["x-ratelimit-limit"]).toBe("2");
  });

  it("writes have a stricter preset than reads", async () => {
    t = await buildTestApp({ rateLimit: { write: { max: 1, timeWindow: 60_000 } } });
    const put = () =>
      t.app.inject({
        method: "PUT",
        url: "/v1/secrets/NovaPassword",
        headers: asOperator,
        payload: { value: "v" },
      });
    expect((await put()).statusCode).toBe(200);
    expect((await put()).statusCode).toBe(429);
    expect((await t.app.inject({ url: "/v1/secrets", headers: asOperator })).statusCode).toBe(200);
  });

  it("success responses carry no rate-limit headers", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({ url: "/v1/config/nova", headers: asNova });
    expect(res.headers["x-ratelimit-remaining"]).toBeUndefined();
  });

  it("a broker StrongroomError below 500 keeps its status, code and message", async () => {
    t = await buildTestApp();
    t.broker.failNextWith = new StrongroomError(
      "STRONGROOM_ERR_CONFIG",
      "option [database] connection: bad template",
    );
    const res = await t.app.inject({ url: "/v1/config/nova", headers: asNova });
    expect(res.statusCode).toBe(400);
    expect(expectErrorShape(res.body)).toEqual({
      code: "STRONGROOM_ERR_CONFIG",
      message: "option [database] connection: bad template",
    });
  });

  it("5xx answers say 'internal error' whatever the cause", async () => {
    t = await buildTestApp();
    t.broker.failNextWith = new StrongroomError(
      "STRONGROOM_ERR_VAULT_SEALED",
      `sealed; token ${SECRET_VALUE}`,
    );
    const coded = await t.app.inject({ url: "/v1/config/nova.conf", headers: asNova });
    expect(coded.statusCode).toBe(500);
    expect(coded.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(expectErrorShape(coded.body)).toEqual({
      code: "STRONGROOM_ERR_VAULT_SEALED",
      message: "internal error",
    });

    t.broker.failNextWith = new TypeError(`cannot read ${SECRET_VALUE}`);
    const unexpected = await t.app.inject({ url: "/v1/secrets", headers: asOperator });
    expect(unexpected.statusCode).toBe(500);
    expect(expectErrorShape(unexpected.body)).toEqual({
      code: "STRONGROOM_ERR_INTERNAL",
      message: "internal error",
    });
  });
});

describe("toErrorAnswer", () => {
  it("keeps the fixed message of the public 5xx codes", () => {
    expect(toErrorAnswer(new UnavailableError() as FastifyError)).toEqual({
      status: 503,
      code: "STRONGROOM_ERR_UNAVAILABLE",
      message: "the broker is overloaded, retry later",
    });
  });

  it("turns an unknown 4xx into STRONGROOM_ERR_BAD_REQUEST without its message", () => {
    const error = Object.assign(new Error(`header value ${SECRET_VALUE}`), {
      statusCode: 431,
      code: "SOMETHING",
    });
    expect(toErrorAnswer(error as FastifyError)).toEqual({
      status: 431,
      code: "STRONGROOM_ERR_BAD_REQUEST",
      message: "malformed request",
    });
  });
});

/** The codes the HTTP layer itself answers with, whatever the route. */
const HTTP_LAYER_CODES: readonly ErrorCode[] = [
  "STRONGROOM_ERR_VALIDATION",
  "STRONGROOM_ERR_BAD_REQUEST",
  "STRONGROOM_ERR_UNAUTHENTICATED",
  "STRONGROOM_ERR_FORBIDDEN",
  "STRONGROOM_ERR_NOT_FOUND",
  "STRONGROOM_ERR_BODY_TOO_LARGE",
  "STRONGROOM_ERR_UNSUPPORTED_MEDIA_TYPE",
  "STRONGROOM_ERR_RATE_LIMITED",
  "STRONGROOM_ERR_INTERNAL",
  "STRONGROOM_ERR_NOT_READY",
  "STRONGROOM_ERR_UNAVAILABLE",
];

describe("docs/http-api.md", () => {
  const doc = readFileSync(new URL("../../../docs/http-api.md", import.meta.url), "utf8");

  it.each(HTTP_LAYER_CODES.map((code) => [code, ERRORS[code].statusCode]))(
    "documents %s (%i)",
    (code, status) => {
      expect(doc).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`));
    },
  );
});

import { afterEach, describe, expect, it } from "vitest";
import { NOVA_TOKEN, OPERATOR_TOKEN, SECRET_VALUE } from "../../helpers/fake-broker.js";
import { asNova, asOperator, buildTestApp, type TestApp } from "./test-app.js";

let t: TestApp;
afterEach(async () => {
  await t?.app.close();
});

async function withLogs(level?: string) {
  const lines: string[] = [];
  t = await buildTestApp({
    logger: {
      ...(level ? { level } : {}),
      stream: { write: (line: string) => void lines.push(line) },
    },
  });
  return lines;
}

describe("request logging", () => {
  it("logs answered requests only at debug, refusals at info", async () => {
    const lines = await withLogs();
    await t.app.inject({ url: "/v1/config/nova", headers: asNova });
    expect(lines).toHaveLength(0);
    await t.app.inject({ url: "/v1/config/neutron", headers: asNova });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 30, res: { statusCode: 403 } });
  });

  it("writes one line per request at debug, with the path but not the query string", async () => {
    const lines = await withLogs("debug");
    await t.app.inject({ url: `/v1/config/nova?token=${SECRET_VALUE}`, headers: asNova });
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] as string);
    expect(line).toMatchObject({
      msg: "request completed",
      req: { method: "GET", url: "/v1/config/nova" },
      res: { statusCode: 200 },
    });
    expect(typeof line.responseTime).toBe("number");
  });

  it("never logs credentials or values, whatever the request carries", async () => {
    const lines = await withLogs();
    t.app.log.info(
      { headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, "x-vault-token": NOVA_TOKEN } },
      "headers",
    );
    t.app.log.info(
      { body: { value: SECRET_VALUE }, secret_id: SECRET_VALUE, token: SECRET_VALUE },
      "fields",
    );
    await t.app.inject({
      method: "PUT",
      url: "/v1/secrets/NovaPassword",
      headers: asOperator,
      payload: { value: SECRET_VALUE },
    });
    await t.app.inject({
      method: "POST",
      url: "/v1/seed",
      headers: asOperator,
      payload: { text: `A: ${SECRET_VALUE}` },
    });
    await t.app.inject({
      url: "/v1/castellan/nova/castellan.conf",
      headers: {
        ...asOperator,
        "x-strongroom-role-id": "r",
        "x-strongroom-secret-id": "secretid123",
      },
    });
    await t.app.inject({ url: "/v1/config/nova", headers: { "x-vault-token": SECRET_VALUE } });
    const all = lines.join("");
    for (const needle of [SECRET_VALUE, OPERATOR_TOKEN, NOVA_TOKEN, "secretid123"])
      expect(all).not.toContain(needle);
    expect(all).toContain("[redacted]");
    expect(all).toContain('"secret":"NovaPassword"');
  });

  it("logs the real cause of a 5xx, which the caller does not see", async () => {
    const lines = await withLogs();
    t.broker.failNextWith = new Error("connection to the key manager reset");
    const res = await t.app.inject({ url: "/v1/secrets", headers: asOperator });
    expect(res.body).not.toContain("reset");
    const failure = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "request failed");
    expect(failure?.err?.message).toBe("connection to the key manager reset");
    expect(failure?.level).toBe(50);
  });

  it("keeps the probes quiet", async () => {
    const lines = await withLogs();
    await t.app.inject("/healthz");
    await t.app.inject("/readyz");
    await t.app.inject({ url: "/metrics", headers: asOperator });
    expect(lines).toEqual([]);
  });

  it("keeps the probes quiet even at debug: their route level wins over the logger's", async () => {
    const lines = await withLogs("debug");
    await t.app.inject("/healthz");
    await t.app.inject("/readyz");
    expect(lines).toEqual([]);
    await t.app.inject({ url: "/v1/config/nova", headers: asNova });
    expect(lines).toHaveLength(1);
  });

  it("binds each request's id to its lines, and to those of its children", async () => {
    const lines: string[] = [];
    t = await buildTestApp(
      { logger: { level: "debug", stream: { write: (line: string) => void lines.push(line) } } },
      (app) =>
        app.addHook("onRequest", async (request) => {
          expect(request.log.level).toBe("debug");
          request.log.child({ step: "hook" }).info("from a child");
        }),
    );
    await t.app.inject({ url: "/v1/config/nova", headers: asNova });
    await t.app.inject({ url: "/v1/config/nova", headers: asNova });
    const parsed = lines.map((line) => JSON.parse(line));
    expect(parsed.map((l) => l.msg)).toEqual([
      "from a child",
      "request completed",
      "from a child",
      "request completed",
    ]);
    expect(parsed[0]).toMatchObject({ step: "hook", reqId: parsed[1].reqId });
    expect(parsed[2].reqId).toBe(parsed[3].reqId);
    expect(parsed[1].reqId).not.toBe(parsed[3].reqId);
  });
});

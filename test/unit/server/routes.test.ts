import { afterEach, describe, expect, it } from "vitest";
import { SECRET_VALUE } from "../../helpers/fake-broker.js";
import { asNova, asOperator, buildTestApp, errorOf, type TestApp } from "./test-app.js";

let t: TestApp;
afterEach(async () => {
  await t?.app.close();
});

describe("config routes", () => {
  it("GET /v1/config/{service}/{group}/{option} answers value, type, location and version only", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({ url: "/v1/config/nova/database/connection", headers: asNova });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(res.json()).toEqual({
      value: `mysql+pymysql://nova:${SECRET_VALUE}@db/nova`,
      type: "string",
      location: { source: "castellan", detail: "NovaPassword" },
      version: 3,
    });
  });

  it("serves a synchronous (cached) answer through the route's schema, its JSON made once per answer", async () => {
    t = await buildTestApp();
    const answer = {
      group: "database",
      option: "connection",
      value: "v1",
      type: "string" as const,
      secret: true,
      location: { source: "castellan", detail: "NovaPassword" },
      version: 1,
    };
    let current = answer;
    t.broker.lookup = () => current;
    const get = () => t.app.inject({ url: "/v1/config/nova/database/connection", headers: asNova });
    const first = await get();
    expect(first.statusCode).toBe(200);
    expect(first.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(first.json()).toEqual({
      value: "v1",
      type: "string",
      location: { source: "castellan", detail: "NovaPassword" },
      version: 1,
    });
    // The same answer object is the same cached answer: its body is not made again.
    answer.value = "changed in place";
    expect((await get()).json().value).toBe("v1");
    // A write gives a new answer object, and with it a new body.
    current = { ...answer, value: "v2", version: 2 };
    expect((await get()).json()).toMatchObject({ value: "v2", version: 2 });
  });

  it("keeps typed values typed", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({ url: "/v1/config/nova/DEFAULT/workers", headers: asNova });
    expect(res.json().value).toBe(4);
  });

  it("answers 404 for an unknown option or service", async () => {
    t = await buildTestApp();
    const option = await t.app.inject({ url: "/v1/config/nova/database/nope", headers: asNova });
    expect(option.statusCode).toBe(404);
    expect(errorOf(option.body)).toEqual({
      code: "STRONGROOM_ERR_NOT_FOUND",
      message: 'option [database] nope of service "nova" not found',
    });
    const unknown = await t.app.inject({
      url: "/v1/config/glance/database/connection",
      headers: asOperator,
    });
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown.body).message).toBe('service "glance" not found');
    const service = await t.app.inject({ url: "/v1/config/glance", headers: asOperator });
    expect(service.statusCode).toBe(404);
    expect(errorOf(service.body).code).toBe("STRONGROOM_ERR_NOT_FOUND");
  });

  it("GET /v1/config/{service} groups every option by group", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({ url: "/v1/config/nova", headers: asNova });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.service).toBe("nova");
    expect(Object.keys(body.groups).sort()).toEqual(["DEFAULT", "database"]);
    expect(body.groups.DEFAULT.workers).toEqual({
      value: 4,
      type: "integer",
      location: { source: "default", detail: "" },
      version: 0,
    });
    expect(body.groups.database.connection.location.detail).toBe("NovaPassword");
  });

  it("GET /v1/config/{service}.conf is the INI, exactly text/plain; charset=utf-8", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({ url: "/v1/config/nova.conf", headers: asNova });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(res.body).toBe('[database]\nconnection = "nova-café-$$"\n');
  });

  it("tells {service} from {service}.conf", async () => {
    t = await buildTestApp();
    const json = await t.app.inject({ url: "/v1/config/neutron", headers: asOperator });
    expect(json.json().service).toBe("neutron");
    const ini = await t.app.inject({ url: "/v1/config/neutron.conf", headers: asOperator });
    expect(ini.body).toContain("neutron-café");
    // Service names have no dots, so "nova.conf.conf" is a bad name, not nova.conf's INI.
    const doubled = await t.app.inject({ url: "/v1/config/nova.conf.conf", headers: asOperator });
    expect(doubled.statusCode).toBe(400);
    expect(errorOf(doubled.body).code).toBe("STRONGROOM_ERR_VALIDATION");
  });
});

describe("castellan routes", () => {
  it("GET mapping.conf is text/plain for the service itself", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({ url: "/v1/castellan/nova/mapping.conf", headers: asNova });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(res.body).toBe("[database]\nconnection = NovaPassword\n");
  });

  it("GET castellan.conf renders the AppRole the operator passes in headers", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({
      url: "/v1/castellan/nova/castellan.conf",
      headers: {
        ...asOperator,
        "x-strongroom-role-id": "role-1",
        "x-strongroom-secret-id": "secret-1",
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(res.body).toContain("backend = vault");
    expect(res.body).toContain("approle_role_id = role-1");
  });

  it("refuses castellan.conf without credentials, or with ones that could break the INI", async () => {
    t = await buildTestApp();
    const missing = await t.app.inject({
      url: "/v1/castellan/nova/castellan.conf",
      headers: asOperator,
    });
    expect(missing.statusCode).toBe(400);
    expect(errorOf(missing.body).code).toBe("STRONGROOM_ERR_VALIDATION");
    const injected = await t.app.inject({
      url: "/v1/castellan/nova/castellan.conf",
      headers: {
        ...asOperator,
        "x-strongroom-role-id": "r [vault]",
        "x-strongroom-secret-id": "s",
      },
    });
    expect(injected.statusCode).toBe(400);
  });
});

describe("secrets and seed routes", () => {
  it("GET /v1/secrets lists metadata only", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({ url: "/v1/secrets", headers: asOperator });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      secrets: [
        {
          name: "NovaPassword",
          type: "passphrase",
          version: 3,
          created: 1700000000,
          consumers: ["nova"],
        },
      ],
    });
  });

  it("PUT /v1/secrets/{name} stores the value and does not echo it", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({
      method: "PUT",
      url: "/v1/secrets/NovaPassword",
      headers: asOperator,
      payload: { value: SECRET_VALUE },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ name: "NovaPassword", version: 4 });
    expect(res.body).not.toContain(SECRET_VALUE);
    expect(t.broker.calls.putSecret).toEqual([{ name: "NovaPassword" }]);
  });

  it("POST /v1/seed passes defaults and answers names and actions", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/seed",
      headers: asOperator,
      payload: { text: `NovaPassword: ${SECRET_VALUE}\n` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      dry_run: false,
      written: 1,
      entries: [{ name: "NovaPassword", action: "import" }],
    });
    expect(res.body).not.toContain(SECRET_VALUE);
    expect(t.broker.calls.seed).toEqual([
      {
        text: `NovaPassword: ${SECRET_VALUE}\n`,
        file: "request",
        format: undefined,
        generate: true,
        dryRun: false,
      },
    ]);
  });

  it("POST /v1/seed forwards file, format, generate and dry_run", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/seed",
      headers: asOperator,
      payload: { text: "A=b\n", file: "x.env", format: "env", generate: false, dry_run: true },
    });
    expect(res.json().dry_run).toBe(true);
    expect(t.broker.calls.seed[0]).toEqual({
      text: "A=b\n",
      file: "x.env",
      format: "env",
      generate: false,
      dryRun: true,
    });
  });

  it("accepts seed documents above the 1 MiB default body limit", async () => {
    t = await buildTestApp();
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/seed",
      headers: asOperator,
      payload: { text: `# ${"x".repeat(3 * 1024 * 1024)}\n` },
    });
    expect(res.statusCode).toBe(200);
  });
});

describe("ops routes", () => {
  it("GET /healthz needs no credentials", async () => {
    t = await buildTestApp();
    const res = await t.app.inject("/healthz");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok" });
  });

  it("GET /readyz follows deps.ready and answers 503 until it says so", async () => {
    let ready = false;
    t = await buildTestApp({ ready: async () => ready });
    const before = await t.app.inject("/readyz");
    expect(before.statusCode).toBe(503);
    expect(errorOf(before.body)).toEqual({
      code: "STRONGROOM_ERR_NOT_READY",
      message: "the broker is not ready yet",
    });
    ready = true;
    expect((await t.app.inject("/readyz")).json()).toEqual({ status: "ready" });
  });

  it("GET /readyz treats a failing check as not ready", async () => {
    t = await buildTestApp({
      ready: async () => {
        throw new Error("vault sealed");
      },
    });
    const res = await t.app.inject("/readyz");
    expect(res.statusCode).toBe(503);
    expect(res.body).not.toContain("sealed");
  });

  it("GET /metrics answers the operator only", async () => {
    t = await buildTestApp();
    const anonymous = await t.app.inject("/metrics");
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.body).not.toContain("process_cpu");
    expect((await t.app.inject({ url: "/metrics", headers: asNova })).statusCode).toBe(403);
    expect((await t.app.inject({ url: "/metrics", headers: asOperator })).statusCode).toBe(200);
  });

  it("GET /metrics is Prometheus text labelled by route template, never by path or value", async () => {
    t = await buildTestApp();
    await t.app.inject({ url: "/v1/config/nova/database/connection", headers: asNova });
    await t.app.inject({
      method: "PUT",
      url: "/v1/secrets/NovaPassword",
      headers: asOperator,
      payload: { value: SECRET_VALUE },
    });
    await t.app.inject({ url: "/v1/no/such/NovaPassword/route", headers: asOperator });
    const res = await t.app.inject({ url: "/metrics", headers: asOperator });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain(
      'http_request_duration_seconds_count{method="GET",route="/v1/config/:service/:group/:option",status_code="200"} 1',
    );
    expect(res.body).toContain('route="/v1/secrets/:name"');
    expect(res.body).toContain("process_cpu_user_seconds_total");
    expect(res.body).not.toContain(SECRET_VALUE);
    expect(res.body).not.toContain("/v1/no/such");
    expect(res.body).not.toContain('route="/v1/config/nova');
  });

  it("serves the OpenAPI UI at /docs", async () => {
    t = await buildTestApp();
    const res = await t.app.inject("/docs");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.headers["content-security-policy"]).toMatch(/script-src 'self'/);
  });
});

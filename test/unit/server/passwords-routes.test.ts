/**
 * The passwords routes over an in-memory store: operator only, rendered server-side, another
 * deployment by name (404 when there is none), and audited with names and counts, never values.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createPasswordFiles } from "../../../src/broker/password-files.js";
import type { AuditEvent } from "../../../src/lib/audit-log.js";
import { SECRET_VALUE } from "../../helpers/fake-broker.js";
import { createMemoryKeyManager } from "../../helpers/memory-key-manager.js";
import { asNova, asOperator, buildTestApp, errorOf, type TestApp } from "./test-app.js";

let t: TestApp;
afterEach(async () => {
  await t?.app.close();
});

async function appWith(audited: AuditEvent[]) {
  const stores = {
    overcloud: createMemoryKeyManager({ NovaPassword: SECRET_VALUE }),
    edge1: createMemoryKeyManager({ database_password: SECRET_VALUE }),
  };
  t = await buildTestApp({
    audit: (event) => audited.push(event),
    passwords: createPasswordFiles({
      deployment: "overcloud",
      keyManagerFor: async (d) => stores[d as keyof typeof stores] ?? createMemoryKeyManager(),
    }),
  });
}

describe("passwords routes", () => {
  it("GET /v1/passwords renders the file for the operator and audits it as an export, without the value", async () => {
    const audited: AuditEvent[] = [];
    await appWith(audited);
    const res = await t.app.inject({
      method: "GET",
      url: "/v1/passwords?format=tripleo",
      headers: asOperator,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      deployment: "overcloud",
      format: "tripleo",
      text: `parameter_defaults:\n  NovaPassword: ${SECRET_VALUE}\n`,
      written: 1,
      missing: [],
    });
    expect(audited).toEqual([
      expect.objectContaining({
        event: "passwords-export",
        identity: "operator",
        deployment: "overcloud",
        format: "tripleo",
        written: 1,
      }),
    ]);
    expect(JSON.stringify(audited)).not.toContain(SECRET_VALUE);
  });

  it("renders another deployment by name; one that does not exist is a 404", async () => {
    await appWith([]);
    const edge = await t.app.inject({
      method: "GET",
      url: "/v1/passwords?format=kolla&deployment=edge1",
      headers: asOperator,
    });
    expect(edge.statusCode, edge.body).toBe(200);
    expect(edge.json().deployment).toBe("edge1");
    const none = await t.app.inject({
      method: "GET",
      url: "/v1/passwords?format=kolla&deployment=nowhere",
      headers: asOperator,
    });
    expect(none.statusCode).toBe(404);
    expect(errorOf(none.body).code).toBe("STRONGROOM_ERR_UNKNOWN_DEPLOYMENT");
  });

  it("refuses a service (403) and an unknown format (400) on each route", async () => {
    await appWith([]);
    for (const [method, url, payload] of [
      ["GET", "/v1/passwords?format=kolla", undefined],
      ["POST", "/v1/passwords/merge", { text: "database_password:\n" }],
      ["POST", "/v1/passwords/diff", { text: "kind: Secret\n" }],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: asNova, ...(payload && { payload }) });
      expect(res.statusCode, `${method} ${url}`).toBe(403);
    }
    const bad = await t.app.inject({
      method: "GET",
      url: "/v1/passwords?format=vault",
      headers: asOperator,
    });
    expect(bad.statusCode).toBe(400);
  });

  it("POST /v1/passwords/diff answers names only; a bad file is a 400 naming file:line", async () => {
    const audited: AuditEvent[] = [];
    await appWith(audited);
    const diff = await t.app.inject({
      method: "POST",
      url: "/v1/passwords/diff",
      headers: asOperator,
      payload: { text: "kind: Secret\ndata:\n  NovaPassword: b2xk\n", file: "s.yaml" },
    });
    expect(diff.json()).toEqual({
      deployment: "overcloud",
      differs: ["NovaPassword"],
      missing: [],
      extra: [],
      same: 0,
    });
    expect(diff.body).not.toContain(SECRET_VALUE);
    const bad = await t.app.inject({
      method: "POST",
      url: "/v1/passwords/diff",
      headers: asOperator,
      payload: { text: "kind: Secret\ndata: [x]\n", file: "s.yaml" },
    });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad.body)).toEqual({
      code: "STRONGROOM_ERR_PASSWORDS_INPUT",
      message: "s.yaml:2:7: data must be a map",
    });
  });
});

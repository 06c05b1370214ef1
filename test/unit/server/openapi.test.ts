import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestApp, type TestApp } from "./test-app.js";

interface Operation {
  operationId?: string;
  tags?: string[];
  description?: string;
  security?: unknown[];
  responses: Record<string, { content?: Record<string, unknown> }>;
}

let t: TestApp;
let spec: {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, unknown>;
};
const registered: Array<{ method: string; url: string }> = [];

beforeAll(async () => {
  t = await buildTestApp({}, (app) =>
    app.addHook("onRoute", (route) => {
      if (route.schema?.hide) return;
      for (const method of [route.method].flat())
        registered.push({ method: method.toLowerCase(), url: route.url });
    }),
  );
  spec = (await t.app.inject("/docs/json")).json();
});
afterAll(async () => {
  await t.app.close();
});

const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, "{$1}");

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 with the three ways to authenticate", () => {
    expect(spec.openapi).toBe("3.1.0");
    expect(
      Object.keys((spec.components as { securitySchemes: object }).securitySchemes).sort(),
    ).toEqual(["clientCertificate", "operatorToken", "vaultToken"]);
  });

  it("lists every route of the contract", () => {
    const listed = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(listed.sort()).toEqual(
      [
        "GET /v1/config/{service}/{group}/{option}",
        "GET /v1/config/{service}",
        "GET /v1/config/{service}.conf",
        "GET /v1/castellan/{service}/mapping.conf",
        "GET /v1/castellan/{service}/castellan.conf",
        "GET /v1/files/{service}",
        "POST /v1/kits/{service}",
        "GET /v1/secrets",
        "PUT /v1/secrets/{name}",
        "POST /v1/seed",
        "POST /v1/rotations",
        "GET /v1/rotations",
        "GET /v1/rotations/{id}",
        "POST /v1/export",
        "GET /v1/passwords",
        "POST /v1/passwords/merge",
        "POST /v1/passwords/diff",
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
      ].sort(),
    );
  });

  it("leaves out no registered route", () => {
    for (const { method, url } of registered) {
      expect(spec.paths[toOpenApiPath(url)]?.[method], `${method} ${url}`).toBeDefined();
    }
  });

  it("gives every operation an id, a tag, a description, security and an error schema", () => {
    const ids = new Set<string>();
    let operations = 0;
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method} ${path}`;
        expect(op.operationId, where).toBeTruthy();
        ids.add(op.operationId as string);
        operations++;
        expect(op.tags?.length, where).toBe(1);
        expect(op.description, where).toBeTruthy();
        expect(op.security, where).toBeDefined();
        expect(op.responses["4XX"] ?? op.responses["4xx"], where).toBeDefined();
      }
    }
    expect(ids.size, "operation ids are unique").toBe(operations);
  });

  it("documents the text routes as text/plain", () => {
    for (const path of [
      "/v1/config/{service}.conf",
      "/v1/castellan/{service}/mapping.conf",
      "/v1/castellan/{service}/castellan.conf",
    ]) {
      expect(Object.keys(spec.paths[path]?.get?.responses["200"]?.content ?? {})).toEqual([
        "text/plain",
      ]);
    }
    expect(spec.paths["/v1/castellan/{service}/castellan.conf"]?.get?.description).toMatch(
      /service-kit/,
    );
  });

  it("marks the probes as needing no credential and services' routes as accepting a certificate", () => {
    expect(spec.paths["/healthz"]?.get?.security).toEqual([]);
    expect(spec.paths["/v1/config/{service}/{group}/{option}"]?.get?.security).toContainEqual({
      clientCertificate: [],
    });
    expect(spec.paths["/v1/secrets"]?.get?.security).not.toContainEqual({ clientCertificate: [] });
  });
});

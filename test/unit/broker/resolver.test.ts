import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCastellanSource } from "../../../drivers/config-sources/castellan/index.js";
import { createEnvironmentSource } from "../../../drivers/config-sources/environment/index.js";
import { createIniSource } from "../../../drivers/config-sources/ini/index.js";
import { createResolver } from "../../../src/broker/resolver.js";
import { parseManifest } from "../../../src/config/manifest.js";
import { StrongroomError } from "../../../src/lib/errors.js";
import { createMemoryKeyManager } from "../../helpers/memory-key-manager.js";

const MANIFEST = `
deployment: { name: test }
variables: { db_host: db.example }
secrets:
  DbPassword: { generator: { kind: alphanumeric, length: 8 } }
  RpcPassword: { generator: { kind: alphanumeric, length: 8 } }
services:
  nova:
    options:
      DEFAULT:
        transport_url: "rabbit://guest:{{ secret.RpcPassword | urlencode }}@rabbit/"
        workers: { type: integer, default: 4 }
        hosts: { type: multi_string, value: ["a", "{{ var.db_host }}"] }
        unset_option: { type: string }
      database:
        connection: "mysql://nova:{{ secret.DbPassword }}@{{ var.db_host }}/nova?{{ secret.RpcPassword }}"
        literal: "{{ var.db_host }}"
        max_retries: { type: integer, value: "{{ secret.DbPassword }}" }
`;

describe("option resolution", () => {
  const manifest = parseManifest(MANIFEST, "m.yaml");
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "resolver-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function setup(env: Record<string, string> = {}) {
    const keyManager = createMemoryKeyManager({ DbPassword: "db$pass", RpcPassword: "r@bbit" });
    const sources = [
      createEnvironmentSource(env),
      createIniSource({ dir }),
      createCastellanSource({ manifest, keyManager }),
    ];
    return { keyManager, resolver: createResolver({ manifest, keyManager, sources }) };
  }

  it("renders manifest templates through the key manager, with the secrets as location", async () => {
    const { resolver } = setup();
    const entry = await resolver.resolve("nova", "database", "connection");
    expect(entry.option).toEqual({
      group: "database",
      option: "connection",
      value: "mysql://nova:db$pass@db.example/nova?r@bbit",
      type: "string",
      secret: true,
      location: { source: "castellan", detail: "DbPassword,RpcPassword" },
      version: 1,
    });
    expect((await resolver.resolve("nova", "DEFAULT", "transport_url")).option.value).toBe(
      "rabbit://guest:r%40bbit@rabbit/",
    );
    expect((await resolver.resolve("nova", "database", "literal")).option.location).toEqual({
      source: "castellan",
      detail: "manifest",
    });
  });

  it("falls back to the default, then to no value", async () => {
    const { resolver } = setup();
    expect((await resolver.resolve("nova", "DEFAULT", "workers")).option).toMatchObject({
      value: 4,
      location: { source: "default", detail: "manifest" },
      version: 0,
    });
    const unset = await resolver.resolve("nova", "DEFAULT", "unset_option");
    expect(unset.option).toMatchObject({ value: null, location: { source: "none", detail: "" } });
    expect(unset.raw).toBeUndefined();
  });

  it("lets the environment beat INI overrides, which beat the manifest", async () => {
    writeFileSync(
      join(dir, "all.conf"),
      "[database]\nconnection = from-all\n[DEFAULT]\nworkers = 8\n",
    );
    writeFileSync(join(dir, "nova.conf"), "[Database]\nconnection = 'from-nova'\n");
    const { resolver } = setup({ OS_DEFAULT__WORKERS: "16" });
    expect((await resolver.resolve("nova", "database", "connection")).option).toMatchObject({
      value: "from-nova",
      location: { source: "ini", detail: join(dir, "nova.conf") },
      version: 1,
    });
    expect((await resolver.resolve("nova", "DEFAULT", "workers")).option).toMatchObject({
      value: 16,
      location: { source: "environment", detail: "OS_DEFAULT__WORKERS" },
    });
  });

  it("collects every occurrence of a multi_string option", async () => {
    const { resolver } = setup();
    expect((await resolver.resolve("nova", "DEFAULT", "hosts")).option.value).toEqual([
      "a",
      "db.example",
    ]);
    writeFileSync(join(dir, "all.conf"), "[DEFAULT]\nhosts = x\n");
    writeFileSync(join(dir, "nova.conf"), "[DEFAULT]\nhosts = y\nhosts = z\n");
    const fresh = setup().resolver;
    expect((await fresh.resolve("nova", "DEFAULT", "hosts")).option.value).toEqual(["x", "y", "z"]);
  });

  it("caches until the secrets an option uses are invalidated", async () => {
    const { resolver, keyManager } = setup();
    await resolver.resolve("nova", "database", "connection");
    await resolver.resolve("nova", "DEFAULT", "transport_url");
    const reads = keyManager.gets;
    await resolver.resolve("nova", "database", "connection");
    expect(keyManager.gets).toBe(reads);

    await keyManager.put("RpcPassword", "new", { cas: 1 });
    resolver.invalidate(["DbPassword"]);
    expect((await resolver.resolve("nova", "DEFAULT", "transport_url")).option.value).toContain(
      "r%40bbit",
    );
    resolver.invalidate(["RpcPassword"]);
    const after = await resolver.resolve("nova", "database", "connection");
    expect(after.option.value).toBe("mysql://nova:db$pass@db.example/nova?new");
    expect(after.option.version).toBe(2);
    expect((await resolver.resolve("nova", "DEFAULT", "transport_url")).option.value).toContain(
      "new@",
    );
  });

  it("hands out a settled entry synchronously until it is invalidated", async () => {
    const { resolver, keyManager } = setup();
    expect(resolver.cached("nova", "database", "connection")).toBeUndefined();
    const pending = resolver.resolve("nova", "database", "connection");
    expect(resolver.cached("nova", "database", "connection")).toBeUndefined(); // not settled yet
    const entry = await pending;
    expect(resolver.cached("nova", "database", "connection")).toBe(entry);
    expect(resolver.cached("nova", "database", "literal")).toBeUndefined();

    resolver.invalidate(["RpcPassword"]);
    expect(resolver.cached("nova", "database", "connection")).toBeUndefined();
    await resolver.resolve("nova", "database", "connection");
    resolver.invalidate();
    expect(resolver.cached("nova", "database", "connection")).toBeUndefined();

    // Invalidated while resolving: the stale result never becomes the cached entry.
    const stale = resolver.resolve("nova", "database", "connection");
    await keyManager.put("DbPassword", "changed", { cas: 1 });
    resolver.invalidate(["DbPassword"]);
    await stale;
    expect(resolver.cached("nova", "database", "connection")).toBeUndefined();
    const fresh = await resolver.resolve("nova", "database", "connection");
    expect(resolver.cached("nova", "database", "connection")?.option.value).toBe(
      fresh.option.value,
    );
    expect(String(fresh.option.value).includes("changed")).toBe(true);
  });

  it("reports type errors and unknown options with names only", async () => {
    const { resolver } = setup();
    await expect(resolver.resolve("nova", "database", "max_retries")).rejects.toMatchObject({
      code: "STRONGROOM_ERR_OPTION_TYPE",
      message: expect.not.stringContaining("db$pass"),
    });
    await expect(resolver.resolve("nova", "database", "nope")).rejects.toBeInstanceOf(
      StrongroomError,
    );
  });

  it("gives no castellan value while a referenced secret is missing", async () => {
    const keyManager = createMemoryKeyManager({ DbPassword: "x" });
    const resolver = createResolver({
      manifest,
      keyManager,
      sources: [createCastellanSource({ manifest, keyManager })],
    });
    expect((await resolver.resolve("nova", "database", "connection")).option.value).toBeNull();
  });
});

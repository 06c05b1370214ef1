import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCastellanSource } from "../../../drivers/config-sources/castellan/index.js";
import {
  createEnvironmentSource,
  environmentVariableName,
} from "../../../drivers/config-sources/environment/index.js";
import { createIniSource } from "../../../drivers/config-sources/ini/index.js";
import { parseManifest } from "../../../src/config/manifest.js";
import { fromCastellanRecord, toCastellanRecord } from "../../../src/vault/castellan-record.js";
import { createMemoryKeyManager } from "../../helpers/memory-key-manager.js";

describe("the environment source", () => {
  it("names variables as oslo.config does", () => {
    expect(environmentVariableName("DEFAULT", "debug")).toBe("OS_DEFAULT__DEBUG");
    expect(environmentVariableName("placement_database", "connection")).toBe(
      "OS_PLACEMENT_DATABASE__CONNECTION",
    );
    expect(environmentVariableName("DEFAULT", "foo-bar")).toBe("OS_DEFAULT__FOO_BAR");
  });

  it("answers with the variable as location", async () => {
    const source = createEnvironmentSource({ OS_DATABASE__CONNECTION: " sqlite:// " });
    expect(await source.lookup("nova", "database", "connection")).toEqual({
      raw: " sqlite:// ",
      location: { source: "environment", detail: "OS_DATABASE__CONNECTION" },
    });
    expect(await source.lookup("nova", "database", "other")).toBeUndefined();
  });
});

describe("the ini source", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ini-source-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads all.conf then <service>.conf, the later winning, and notices changes", async () => {
    writeFileSync(join(dir, "all.conf"), "[DEFAULT]\ndebug = true\n[database]\nmax_retries = 1\n");
    writeFileSync(join(dir, "nova.conf"), "[DATABASE]\nmax-retries: 5\nmax_retries = 7\n");
    const source = createIniSource({ dir });
    expect(await source.lookup("nova", "database", "max_retries")).toMatchObject({
      raw: "7",
      values: ["1", "7"],
      location: { source: "ini", detail: join(dir, "nova.conf") },
    });
    expect(await source.lookup("nova", "DEFAULT", "debug")).toMatchObject({
      location: { source: "ini", detail: join(dir, "all.conf") },
    });
    expect(await source.lookup("glance", "database", "max_retries")).toMatchObject({ raw: "1" });
    expect(await source.lookup("nova", "default", "debug")).toBeUndefined();

    writeFileSync(join(dir, "nova.conf"), "[database]\nmax_retries = 9\n");
    utimesSync(join(dir, "nova.conf"), new Date(), new Date(Date.now() + 5000));
    expect(await source.lookup("nova", "database", "max_retries")).toMatchObject({ raw: "9" });
  });

  it("fails loudly on a broken override file", async () => {
    writeFileSync(join(dir, "nova.conf"), "password = hunter2\n");
    await expect(createIniSource({ dir }).lookup("nova", "DEFAULT", "password")).rejects.toThrow(
      /nova\.conf:1: Section must be started before assignment/,
    );
  });
});

describe("the castellan source", () => {
  const manifest = parseManifest(
    `deployment: { name: t }
secrets: { Keys: { generator: fernet-keys }, Pw: {} }
services:
  keystone:
    options:
      fernet: { keys: "{{ secret.Keys }}", both: "{{ secret.Pw }}/{{ secret.Keys | base64 }}" }
`,
    "m.yaml",
  );

  it("renders map secrets as JSON and names the secrets used", async () => {
    const keyManager = createMemoryKeyManager({ Keys: { "/k/0": { content: "a" } }, Pw: "p" });
    const source = createCastellanSource({ manifest, keyManager });
    expect(await source.lookup("keystone", "fernet", "keys")).toEqual({
      raw: '{"/k/0":{"content":"a"}}',
      location: { source: "castellan", detail: "Keys" },
      version: 1,
      versions: { Keys: 1 },
    });
    expect((await source.lookup("keystone", "fernet", "both"))?.location.detail).toBe("Pw,Keys");
    expect(await source.lookup("keystone", "fernet", "missing")).toBeUndefined();
  });
});

describe("Castellan records", () => {
  it("encode strings as passphrases and maps as opaque JSON, in lower-case hex", () => {
    expect(toCastellanRecord("Pw", "Ü$", 1700000000)).toEqual({
      type: "passphrase",
      value: "c39c24",
      algorithm: null,
      bit_length: null,
      name: "Pw",
      created: 1700000000,
    });
    const map = { a: { content: "x" } };
    const record = toCastellanRecord("Keys", map, 1);
    expect(record.type).toBe("opaque");
    expect(Buffer.from(record.value, "hex").toString()).toBe('{"a":{"content":"x"}}');
    expect(fromCastellanRecord(record)).toEqual({ type: "opaque", value: map, created: 1 });
    expect(fromCastellanRecord({ type: "symmetric", value: "00" })).toBeUndefined();
    expect(fromCastellanRecord({ type: "passphrase", value: "zz" })).toBeUndefined();
  });
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  configSourcesAmong,
  createDriverRegistry,
  registerManifestDrivers,
} from "../../../drivers/registry.js";
import type { KeyManager } from "../../../drivers/types.js";
import { createConfigSources } from "../../../src/broker/config-sources.js";
import { createBrokerService } from "../../../src/broker/create-broker-service.js";
import { type Manifest, parseManifest } from "../../../src/config/manifest.js";
import { PACKAGE_ROOT } from "../../../src/lib/paths.js";
import { createMemoryKeyManager } from "../../helpers/memory-key-manager.js";

/** What `up` does: the manifest's drivers join the registry, then the sources are made from it. */
async function createSources(
  manifest: Manifest,
  keyManager: KeyManager,
  env: Record<string, string> = {},
) {
  const registry = createDriverRegistry();
  const loaded = await registerManifestDrivers(registry, manifest);
  return createConfigSources({
    manifest,
    keyManager,
    registry,
    thirdParty: configSourcesAmong(loaded),
    env,
  });
}

const dir = mkdtempSync(join(tmpdir(), "strongroom-sources-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const manifestText = (driverPath: string) => `
deployment: {name: site}
secrets: {NovaPassword: {}}
drivers:
  - module: ${driverPath}
    config: {label: site-a, values: {nova.DEFAULT.my_ip: "10.0.0.5", nova.database.connection: "from-site"}}
services:
  nova:
    options:
      DEFAULT:
        my_ip: {type: ip, default: "127.0.0.1"}
        debug: {type: boolean, default: "false"}
      database:
        connection: {secret: true, value: "mysql+pymysql://nova:{{ secret.NovaPassword }}@db/nova"}
`;

describe("config sources from the manifest", () => {
  it("loads a third-party config-source driver from a module path relative to the manifest", async () => {
    const manifestFile = join(PACKAGE_ROOT, "test", "fixtures", "drivers", "manifest.yaml");
    const manifest = parseManifest(manifestText("./site-source.mjs"), manifestFile);
    expect(manifest.drivers[0]!.module).toBe(
      join(PACKAGE_ROOT, "test", "fixtures", "drivers", "site-source.mjs"),
    );

    const keyManager = createMemoryKeyManager({ NovaPassword: "s3cret" });
    const sources = await createSources(manifest, keyManager);
    expect(sources.map((s) => s.driver)).toEqual(["environment", "site-values", "castellan"]);

    const broker = createBrokerService({
      manifest,
      keyManager,
      sources,
      vaultUrl: "https://vault",
      kvMount: "secret",
    });
    const ip = await broker.lookup("nova", "DEFAULT", "my_ip");
    expect(ip).toMatchObject({
      value: "10.0.0.5",
      location: { source: "site-values", detail: "site-a" },
    });
    // The third-party source comes before the manifest's templates, like any oslo source order.
    const connection = await broker.lookup("nova", "database", "connection");
    expect(connection.location.source).toBe("site-values");
    const debug = await broker.lookup("nova", "DEFAULT", "debug");
    expect(debug).toMatchObject({ value: false, location: { source: "default" } });
  });

  it("puts the environment before the third-party source", async () => {
    const manifest = parseManifest(
      manifestText(join(PACKAGE_ROOT, "test", "fixtures", "drivers", "site-source.mjs")),
      join(dir, "m.yaml"),
    );
    const keyManager = createMemoryKeyManager({ NovaPassword: "s3cret" });
    const sources = await createSources(manifest, keyManager, { OS_DEFAULT__MY_IP: "192.0.2.1" });
    const broker = createBrokerService({
      manifest,
      keyManager,
      sources,
      vaultUrl: "https://vault",
      kvMount: "secret",
    });
    expect(await broker.lookup("nova", "DEFAULT", "my_ip")).toMatchObject({
      value: "192.0.2.1",
      location: { source: "environment", detail: "OS_DEFAULT__MY_IP" },
    });
  });

  it("refuses a module that is missing or is not a config source, naming it", async () => {
    const keyManager = createMemoryKeyManager();
    const missing = parseManifest(manifestText("./nope.mjs"), join(dir, "m.yaml"));
    await expect(createSources(missing, keyManager)).rejects.toThrow(
      /cannot load the driver module .*nope\.mjs/,
    );
    const wrongKind = parseManifest(
      manifestText(join(PACKAGE_ROOT, "test", "fixtures", "drivers", "key-manager-only.mjs")),
      join(dir, "m.yaml"),
    );
    await expect(createSources(wrongKind, keyManager)).rejects.toThrow(/is a key-manager driver/);
  });

  it("rejects a malformed drivers stanza with the file and line", () => {
    writeFileSync(join(dir, "bad.yaml"), "");
    expect(() =>
      parseManifest(
        "deployment: {name: x}\ndrivers:\n  - {path: ./x.mjs}\n",
        join(dir, "bad.yaml"),
      ),
    ).toThrow(/bad\.yaml:3:/);
  });
});

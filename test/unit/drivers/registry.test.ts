import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createDriverRegistry, loadDriver } from "../../../drivers/registry.js";

describe("the driver registry", () => {
  const dir = mkdtempSync(join(tmpdir(), "drivers-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("knows the built-ins by name", () => {
    const registry = createDriverRegistry();
    const names = registry.names();
    expect(names.keyManagers).toEqual(["vault"]);
    expect(names.configSources).toEqual(["environment", "ini", "castellan"]);
    expect(names.rotationTargets).toEqual(["mariadb", "rabbitmq", "command", "keystone"]);
    expect(names.restarters).toEqual(["command", "systemd", "signal", "kubernetes"]);
    expect(names.healthChecks).toEqual(["http", "tcp", "command"]);
    expect(names.loadBalancers).toEqual(["haproxy"]);
    expect(names.secretSinks).toEqual(["kubernetes-secret"]);
    expect(registry.keyManager("vault").name).toBe("vault");
    expect(registry.configSource("ini").kind).toBe("config-source");
  });

  it("rejects unknown and duplicate names clearly", () => {
    const registry = createDriverRegistry();
    expect(() => registry.keyManager("barbican")).toThrow(
      /unknown key-manager driver "barbican" \(known: vault\)/,
    );
    expect(() => registry.register(registry.configSource("ini"))).toThrow(/already registered/);
  });

  it("loads a third-party driver module by path, relative to a base directory", async () => {
    writeFileSync(
      join(dir, "consul.mjs"),
      `export const driver = { kind: "config-source", name: "consul", async create() {
        return { driver: "consul", async lookup() { return { raw: "x", location: { source: "consul", detail: "k" } }; } };
      } };\n`,
    );
    const driver = await loadDriver("consul.mjs", { baseDir: dir });
    const registry = createDriverRegistry();
    registry.register(driver);
    const source = await registry.configSource("consul").create({}, {} as never);
    expect(await source.lookup("nova", "DEFAULT", "x")).toMatchObject({ raw: "x" });
  });

  it("explains what is wrong with a bad module", async () => {
    writeFileSync(join(dir, "none.mjs"), "export const other = 1;\n");
    writeFileSync(
      join(dir, "bad.mjs"),
      'export const driver = { kind: "alarm-clock", name: "x", create() {} };\n',
    );
    writeFileSync(join(dir, "broken.mjs"), "export const driver = ;\n");
    await expect(loadDriver(join(dir, "none.mjs"))).rejects.toThrow(/does not export `driver`/);
    await expect(loadDriver(join(dir, "bad.mjs"))).rejects.toThrow(
      /must be one of "key-manager", "config-source", "rotation-target", "restarter"/,
    );
    await expect(loadDriver(join(dir, "broken.mjs"))).rejects.toThrow(
      /cannot load the driver module .*broken\.mjs \(\w*Error\)/,
    );
    await expect(loadDriver(join(dir, "missing.mjs"))).rejects.toThrow(/ERR_MODULE_NOT_FOUND/);
  });
});

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createDriverRegistry } from "../../../drivers/registry.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("restarters-");

const registry = createDriverRegistry();
const problem = (kind: string, stanza: Record<string, unknown>) =>
  registry.restarter(kind).validate?.({ kind, ...stanza });

describe("built-in restarter stanzas", () => {
  it("accept what the manifest schema accepts", () => {
    expect(problem("command", { command: ["podman", "restart", "{service}"] })).toBeUndefined();
    expect(problem("command", { command: ["x"], timeout_seconds: 0.5 })).toBeUndefined();
    expect(problem("systemd", {})).toBeUndefined();
    expect(problem("systemd", { unit: "openstack-{service}-api.service" })).toBeUndefined();
    expect(problem("signal", { pid_file: "/run/{service}.pid" })).toBeUndefined();
    expect(problem("signal", { pid_file: "/run/x.pid", signal: "SIGUSR1" })).toBeUndefined();
  });

  it("name the first problem", () => {
    expect(problem("command", {})).toBe('"command" must be a non-empty list of non-empty strings');
    expect(problem("command", { command: ["podman", ""] })).toBe(
      '"command" must be a non-empty list of non-empty strings',
    );
    expect(problem("command", { command: ["x"], timeout_seconds: 0 })).toBe(
      '"timeout_seconds" must be a positive number of seconds',
    );
    expect(problem("command", { command: ["x"], shell: true })).toBe('unknown parameter "shell"');
    expect(problem("systemd", { unit: "--force" })).toBe('"unit" is not a systemd unit name');
    expect(problem("systemd", { unit: "a b" })).toBe('"unit" is not a systemd unit name');
    expect(problem("signal", {})).toBe('"pid_file" must be a non-empty string');
    expect(problem("signal", { pid_file: "/p", signal: "RELOAD" })).toBe(
      '"signal" must be a signal name such as HUP or USR1',
    );
  });

  it("refuse to create a restarter from a bad stanza, naming the service", () => {
    expect(() =>
      registry.restarter("systemd").create({ kind: "systemd", unit: "-x" }, { service: "nova" }),
    ).toThrow(
      expect.objectContaining({
        code: "STRONGROOM_ERR_CONFIG",
        message: 'service "nova": systemd restarter: "unit" is not a systemd unit name',
      }),
    );
  });
});

describe("a restart command's environment", () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  it("is an allow-list: the broker's credentials are not in it", async () => {
    process.env.VAULT_TOKEN = "vault-token-for-tests";
    process.env.VAULT_ADDR = "http://127.0.0.1:8200";
    process.env.OS_DATABASE__CONNECTION = "mysql://for-tests";
    process.env.LANG = "C.UTF-8";
    const out = join(tempDir(), "env");
    const restarter = registry
      .restarter("command")
      .create({ kind: "command", command: ["sh", "-c", `env > ${out}`] }, { service: "nova" });
    await restarter.restart(new AbortController().signal);
    const names = readFileSync(out, "utf8")
      .split("\n")
      .map((line) => line.split("=")[0]);
    expect(names).toContain("PATH");
    expect(names).toContain("LANG");
    expect(names).not.toContain("VAULT_TOKEN");
    expect(names).not.toContain("VAULT_ADDR");
    expect(names).not.toContain("OS_DATABASE__CONNECTION");
  });
});

import { describe, expect, it } from "vitest";
import { createDriverRegistry } from "../../../drivers/registry.js";

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

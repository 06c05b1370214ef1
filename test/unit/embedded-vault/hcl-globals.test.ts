/**
 * js-hcl-parser (HashiCorp's HCL v1 parser built with GopherJS) changes two globals when it is
 * loaded: `Error.stackTraceLimit` and `globalThis.require`. The embedded Vault must keep both
 * as they were, also after it parsed a `--config` file or a policy.
 */
import { describe, expect, it } from "vitest";

const CONFIG = `
storage "file" {
  path = "/var/lib/strongroom/vault"
}
listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = true
}
`;

const globalsNow = () => ({
  stackTraceLimit: Error.stackTraceLimit,
  require: Object.getOwnPropertyDescriptor(globalThis, "require"),
});

describe("HCL parsing leaves the process globals alone", () => {
  it("keeps Error.stackTraceLimit and globalThis.require across loading and parsing", async () => {
    const before = globalsNow();
    // Imported here, not at the top: a static import would load the parser before `before`.
    const { parseServerConfig } = await import("../../../src/embedded-vault/server-config.js");
    const { parsePolicy } = await import("../../../src/embedded-vault/policy/policy.js");
    expect(globalsNow()).toEqual(before);

    const config = parseServerConfig(CONFIG, "/etc/strongroom/vault.hcl");
    expect(config.storage).toMatchObject({ type: "file", path: "/var/lib/strongroom/vault" });
    expect(globalsNow()).toEqual(before);
    expect(Number.isFinite(Error.stackTraceLimit)).toBe(true);
    expect(Object.hasOwn(globalThis, "require")).toBe(false);

    parsePolicy("p", 'path "secret/*" { capabilities = ["read"] }');
    expect(globalsNow()).toEqual(before);
  });
});

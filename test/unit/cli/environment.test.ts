import { describe, expect, it } from "vitest";
import { forgetSecretVariables, readEnvironment } from "../../../src/cli/environment.js";
import { runCli } from "../../../src/cli/program.js";

describe("the CLI's environment", () => {
  it("drops the Vault credentials from the environment once it has read them", async () => {
    const env: NodeJS.ProcessEnv = {
      PATH: "/usr/bin",
      VAULT_ADDR: "http://127.0.0.1:8200",
      VAULT_TOKEN: "vault-token-for-tests",
      VAULT_DEV_ROOT_TOKEN_ID: "dev-root-token-for-tests",
    };
    expect(await runCli(["node", "strongroom", "--version"], env)).toBe(0);
    expect(Object.keys(env).sort()).toEqual(["PATH", "VAULT_ADDR"]);
  });

  it("has read them before they are dropped", () => {
    const env: NodeJS.ProcessEnv = { VAULT_TOKEN: "vault-token-for-tests" };
    const read = readEnvironment(env);
    forgetSecretVariables(env);
    expect(read.vaultToken).toBe("vault-token-for-tests");
    expect(env).toEqual({});
  });
});

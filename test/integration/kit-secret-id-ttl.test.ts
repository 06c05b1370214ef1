/**
 * The manifest's `deployment.kit_secret_id_ttl` against a Vault server process (the embedded one
 * in dev mode): bootstrap makes it the service AppRoles' secret_id_ttl, so a kit's secret-id gets
 * it by default, a shorter one on request (`service-kit --secret-id-ttl`), and Vault refuses a
 * longer one, as real Vault does for a role with a secret_id_ttl.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifest } from "../../src/config/manifest.js";
import {
  bootstrapDeployment,
  createOperatorToken,
  mintServiceCredentials,
} from "../../src/vault/bootstrap.js";
import { roleApiPath, serviceRoleName } from "../../src/vault/kv-layout.js";
import {
  createVaultClient,
  type VaultClient,
  vaultStatusOf,
} from "../../src/vault/vault-client.js";
import { startVaultServer, type VaultServerHandle } from "../helpers/vault-server-process.js";

let vault: VaultServerHandle | undefined;
let operator: VaultClient;

const manifest = parseManifest(
  [
    "deployment:",
    "  name: ttl",
    "  kit_secret_id_ttl: 1h",
    "services:",
    "  nova:",
    "    options:",
    "      DEFAULT:",
    "        debug: {type: boolean, default: false}",
  ].join("\n"),
  "ttl.yaml",
);

beforeAll(async () => {
  vault = await startVaultServer({ mode: "dev" });
  const root = createVaultClient({ addr: vault.addr, token: vault.rootToken! });
  if (!(await root.read("sys/auth")).data?.["approle/"]) {
    await root.write("sys/auth/approle", { type: "approle" });
  }
  operator = createVaultClient({
    addr: vault.addr,
    token: await createOperatorToken(root, "secret", "ttl"),
  });
  await bootstrapDeployment(operator, { manifest, manifestText: "{}", kvMount: "secret" });
}, 60_000);

afterAll(async () => {
  await vault?.stop();
});

describe("kit_secret_id_ttl", () => {
  it("is the role's secret_id_ttl: the default life of a kit's secret-id, and its longest", async () => {
    const role = await operator.read(roleApiPath(serviceRoleName("ttl", "nova")));
    expect(role.data.secret_id_ttl).toBe(3600);
    expect((await mintServiceCredentials(operator, "ttl", "nova")).secretIdTtl).toBe(3600);
    expect((await mintServiceCredentials(operator, "ttl", "nova", { ttl: 2 })).secretIdTtl).toBe(2);
    let status: number | undefined;
    try {
      await mintServiceCredentials(operator, "ttl", "nova", { ttl: 7200 });
    } catch (error) {
      status = vaultStatusOf(error);
    }
    expect(status).toBe(400);
  });
});

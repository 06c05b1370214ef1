/**
 * Two deployments bootstrapped into one Vault (what `--vault external` does), with names that
 * used to meet: deployment `site` + service `edge-nova` and deployment `site-edge` + service
 * `nova`. Each service token reads its own deployment's secrets only, each broker takes only its
 * own deployment's tokens, and each operator token manages only its own deployment.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVaultKeyManager } from "../../drivers/key-managers/vault/index.js";
import { createAuthenticator } from "../../src/broker/authenticator.js";
import { parseManifest } from "../../src/config/manifest.js";
import {
  bootstrapDeployment,
  createOperatorToken,
  mintServiceCredentials,
} from "../../src/vault/bootstrap.js";
import {
  operatorPolicyName,
  policyApiPath,
  roleApiPath,
  secretPath,
  servicePolicyName,
  serviceRoleName,
} from "../../src/vault/kv-layout.js";
import { upgradeLegacyNames } from "../../src/vault/legacy-names.js";
import {
  createVaultClient,
  type VaultClient,
  vaultStatusOf,
} from "../../src/vault/vault-client.js";
import { startVaultServer, type VaultServerHandle } from "../helpers/vault-server-process.js";

/** A manifest whose services each read one secret of their own: [service, secret] pairs. */
const manifestOf = (deployment: string, ...services: Array<[string, string]>) =>
  parseManifest(
    [
      `deployment:\n  name: ${deployment}\nsecrets:`,
      ...services.map(([, secret]) => `  ${secret}: {}`),
      "services:",
      ...services.map(
        ([service, secret]) =>
          `  ${service}:\n    options:\n      database:\n        connection: "mysql+pymysql://u:{{ secret.${secret} | urlencode }}@db/x"`,
      ),
    ].join("\n"),
    `${deployment}.yaml`,
  );

const SITE = { deployment: "site", service: "edge-nova", secret: "SitePassword" };
const SITE_EDGE = { deployment: "site-edge", service: "nova", secret: "SiteEdgePassword" };

let vault: VaultServerHandle | undefined;
let root: VaultClient;
const operators = new Map<string, VaultClient>();

const client = (token: string) => createVaultClient({ addr: vault!.addr, token });

/** The error a bootstrap fails with (a bootstrap that succeeds fails the test). */
async function bootstrapError(
  operator: VaultClient,
  manifest: ReturnType<typeof manifestOf>,
): Promise<Error & { code?: string }> {
  try {
    await bootstrapDeployment(operator, { manifest, manifestText: "{}", kvMount: "secret" });
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error(`bootstrap of ${manifest.deployment.name} succeeded`);
}

async function statusOf(request: Promise<unknown>): Promise<number | undefined> {
  try {
    await request;
    return 200;
  } catch (error) {
    return vaultStatusOf(error);
  }
}

/** A Vault token of the service's AppRole, from a secret-id minted as `service-kit` does. */
async function serviceToken(deployment: string, service: string): Promise<string> {
  const credentials = await mintServiceCredentials(operators.get(deployment)!, deployment, service);
  const login = await client("").write("auth/approle/login", {
    role_id: credentials.roleId,
    secret_id: credentials.secretId,
  });
  return login.auth.client_token;
}

beforeAll(async () => {
  vault = await startVaultServer({ mode: "dev" });
  root = client(vault.rootToken!);
  const methods = await root.read("sys/auth");
  if (!methods.data?.["approle/"]) await root.write("sys/auth/approle", { type: "approle" });
  for (const { deployment, service, secret } of [SITE, SITE_EDGE]) {
    const operator = client(await createOperatorToken(root, "secret", deployment));
    operators.set(deployment, operator);
    const manifest = manifestOf(deployment, [service, secret]);
    await bootstrapDeployment(operator, { manifest, manifestText: "{}", kvMount: "secret" });
    await createVaultKeyManager({ client: operator, deployment }).put(
      secret,
      `${deployment}-value`,
    );
  }
}, 60_000);

afterAll(async () => {
  await vault?.stop();
});

describe("deployments sharing one Vault", () => {
  it("give site/edge-nova and site-edge/nova distinct roles and policies", () => {
    expect(serviceRoleName(SITE.deployment, SITE.service)).not.toBe(
      serviceRoleName(SITE_EDGE.deployment, SITE_EDGE.service),
    );
    expect(servicePolicyName(SITE.deployment, SITE.service)).not.toBe(
      servicePolicyName(SITE_EDGE.deployment, SITE_EDGE.service),
    );
  });

  it("a service token reads its own deployment's secrets, never the other's", async () => {
    for (const [mine, theirs] of [
      [SITE, SITE_EDGE],
      [SITE_EDGE, SITE],
    ] as const) {
      const token = client(await serviceToken(mine.deployment, mine.service));
      const own = await token.read(`secret/data/${secretPath(mine.deployment, mine.secret)}`);
      expect(own.data.data.name).toBe(mine.secret);
      expect(
        await statusOf(token.read(`secret/data/${secretPath(theirs.deployment, theirs.secret)}`)),
        `${mine.deployment} reading ${theirs.deployment}`,
      ).toBe(403);
    }
  });

  it("a broker takes only its own deployment's service tokens", async () => {
    const siteEdgeBroker = createAuthenticator({
      deployment: SITE_EDGE.deployment,
      services: [SITE_EDGE.service],
      operatorToken: "not-this-one",
      vault: operators.get(SITE_EDGE.deployment)!,
    });
    const own = await serviceToken(SITE_EDGE.deployment, SITE_EDGE.service);
    const foreign = await serviceToken(SITE.deployment, SITE.service);
    expect(await siteEdgeBroker.fromToken(own)).toEqual({ kind: "service", service: "nova" });
    expect(await siteEdgeBroker.fromToken(foreign)).toBeUndefined();
  });

  it("an operator token writes its own deployment's roles and policies only, never its own policy", async () => {
    const site = operators.get(SITE.deployment)!;
    const other = SITE_EDGE;
    const hcl = { policy: 'path "*" {\n  capabilities = ["sudo", "update"]\n}\n' };
    const refused = [
      site.write(roleApiPath(serviceRoleName(other.deployment, other.service)), {
        token_policies: ["default"],
      }),
      site.write(policyApiPath(servicePolicyName(other.deployment, other.service)), hcl),
      site.write(policyApiPath(operatorPolicyName(SITE.deployment)), hcl),
      site.write(policyApiPath(operatorPolicyName(other.deployment)), hcl),
      site.write(policyApiPath("strongroom-anything"), hcl),
      site.write("sys/audit/file", { type: "file", options: { file_path: "/dev/null" } }),
    ];
    for (const [index, request] of refused.entries()) {
      expect(await statusOf(request), `request ${index}`).toBe(403);
    }
  });

  it("bootstrap leaves a role or policy that another deployment owns alone, with one line naming it", async () => {
    const site = operators.get(SITE.deployment)!;
    const taken = servicePolicyName(SITE_EDGE.deployment, SITE_EDGE.service);
    await root.write(roleApiPath(serviceRoleName("site", "glance")), { token_policies: [taken] });
    const glance = manifestOf("site", [SITE.service, SITE.secret], ["glance", "GlancePassword"]);
    const roleError = await bootstrapError(site, glance);
    expect(roleError).toMatchObject({ code: "STRONGROOM_ERR_VAULT_OWNER" });
    expect(roleError.message).toMatch(
      /AppRole role "site\.glance" belongs to deployment "site-edge"/,
    );
    expect(roleError.message).not.toContain("\n");
    const role = await root.read(roleApiPath(serviceRoleName("site", "glance")));
    expect(role.data.token_policies).toEqual([taken]);

    const copied = (await root.read(policyApiPath(taken))).data.policy;
    await root.write(policyApiPath(servicePolicyName("site", "cinder")), { policy: copied });
    const cinder = manifestOf("site", [SITE.service, SITE.secret], ["cinder", "CinderPassword"]);
    const policyError = await bootstrapError(site, cinder);
    expect(policyError).toMatchObject({ code: "STRONGROOM_ERR_VAULT_OWNER" });
    expect(policyError.message).toMatch(
      /policy "strongroom-site\.cinder" belongs to deployment "site-edge"/,
    );
    expect((await root.read(policyApiPath(servicePolicyName("site", "cinder")))).data.policy).toBe(
      copied,
    );
  });
});

/** The shared operator policy of older versions, as they wrote it (KV rules left out). */
const OLD_OPERATOR_POLICY = ["auth/approle/role/*", "sys/policies/acl/strongroom-*"]
  .map(
    (path) =>
      `path "${path}" {\n  capabilities = ["create", "read", "update", "delete", "list"]\n}\n`,
  )
  .join("\n");
/** A service policy as older versions wrote it: the owner line, one read. */
const oldServicePolicy = (deployment: string, service: string) =>
  `# strongroom: service ${service} of deployment ${deployment}\npath "secret/data/strongroom/${deployment}/x" {\n  capabilities = ["read"]\n}\n`;

describe("a Vault bootstrapped by an older version", () => {
  it("loses the old names of its own services only, and its operator token stops rewriting its own policy", async () => {
    await root.write(policyApiPath("strongroom-operator"), { policy: OLD_OPERATOR_POLICY });
    const created = await root.write("auth/token/create-orphan", {
      policies: ["strongroom-operator"],
    });
    const operator = client(created.auth.client_token);
    // Deployment `old` had nova; deployment `old-x` had nova too: `old-x-nova` is the old name of
    // both old/x-nova and old-x/nova, and old-x wrote it.
    const pairs = [
      ["old", "nova", "strongroom-old-nova", "old-nova"],
      ["old-x", "nova", "strongroom-old-x-nova", "old-x-nova"],
    ] as const;
    for (const [deployment, service, policy, role] of pairs) {
      await root.write(policyApiPath(policy), { policy: oldServicePolicy(deployment, service) });
      await root.write(roleApiPath(role), { token_policies: [policy] });
    }
    const upgrade = (shared: boolean) =>
      upgradeLegacyNames(operator, {
        deployment: "old",
        kvMount: "secret",
        services: ["nova", "x-nova"],
        shared,
      });

    // On a shared Vault the old shared policy stays: other deployments' tokens carry it too.
    expect(await upgrade(true)).toEqual({ retired: ["nova"], operatorPolicy: "broad" });
    expect(await statusOf(root.read(roleApiPath("old-nova")))).toBe(404);
    expect(await statusOf(root.read(policyApiPath("strongroom-old-nova")))).toBe(404);
    expect((await root.read(roleApiPath("old-x-nova"))).data.token_policies).toEqual([
      "strongroom-old-x-nova",
    ]);

    expect(await upgrade(false)).toEqual({ retired: [], operatorPolicy: "narrowed" });
    expect(await upgrade(false)).toEqual({ retired: [], operatorPolicy: "narrowed-before" });
    const hcl = { policy: OLD_OPERATOR_POLICY };
    expect(await statusOf(operator.write(policyApiPath("strongroom-operator"), hcl))).toBe(403);
    expect(await statusOf(operator.write(policyApiPath("strongroom-old-x-nova"), hcl))).toBe(403);
    // What `up` does with it still works.
    const manifest = manifestOf("old", ["nova", "OldPassword"], ["x-nova", "OldXPassword"]);
    const report = await bootstrapDeployment(operator, {
      manifest,
      manifestText: "{}",
      kvMount: "secret",
    });
    expect(report.services.map((s) => s.role)).toEqual(["old.nova", "old.x-nova"]);
  });
});

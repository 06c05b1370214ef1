/**
 * Bootstraps a temporary Vault for one deployment: the operator's token and policy (then the
 * root token is revoked), the stored manifest, and one least-privilege policy and AppRole per
 * service. Everything here is idempotent: re-running rewrites policies and keeps roles (their
 * role-ids and secret-ids survive), so `up` on an existing state dir converges.
 */
import { createHash } from "node:crypto";
import { type Manifest, secretsReferencedBy } from "../config/manifest.js";
import { ERRORS } from "../lib/errors.js";
import {
  DEPLOYMENT_KEYS,
  deploymentPath,
  KV_ROOT,
  kvApiPath,
  OPERATOR_POLICY,
  policyApiPath,
  roleApiPath,
  secretPath,
  servicePolicyName,
  serviceRoleName,
} from "./kv-layout.js";
import type { VaultClient } from "./vault-client.js";
import { vaultStatusOf } from "./vault-client.js";

export const OPERATOR_TOKEN_PERIOD = "24h";

/** Names end up inside HCL strings and Vault paths: keep them to one safe path segment. */
const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function checkSegment(kind: string, name: string): string {
  if (!SAFE_SEGMENT.test(name) || name.includes("..")) {
    throw ERRORS.STRONGROOM_ERR_CONFIG(`${kind} name "${name}" cannot be used in a Vault path`);
  }
  return name;
}

export function operatorPolicy(kvMount: string): string {
  const kv = checkSegment("KV mount", kvMount);
  const rule = (path: string, capabilities: string[]) =>
    `path "${path}" {\n  capabilities = [${capabilities.map((c) => `"${c}"`).join(", ")}]\n}\n`;
  const crudl = ["create", "read", "update", "delete", "list"];
  return [
    "# strongroom's operator: every deployment's secrets, AppRoles and service policies.",
    rule(kvApiPath(kv, "data", `${KV_ROOT}/*`), crudl),
    rule(kvApiPath(kv, "metadata", `${KV_ROOT}/*`), ["read", "update", "delete", "list"]),
    rule(kvApiPath(kv, "metadata", KV_ROOT), ["list"]),
    rule(kvApiPath(kv, "delete", `${KV_ROOT}/*`), ["update"]),
    rule(kvApiPath(kv, "undelete", `${KV_ROOT}/*`), ["update"]),
    rule(kvApiPath(kv, "destroy", `${KV_ROOT}/*`), ["update"]),
    // Roles (kits mint secret-ids) and their policies: what a repeated bootstrap rewrites.
    rule("auth/approle/role/*", crudl),
    rule("auth/approle/role", ["list"]),
    rule("sys/policies/acl/strongroom-*", crudl),
    // Identifies the token a caller presents to the broker.
    rule("auth/token/lookup", ["update"]),
    rule("sys/seal", ["update", "sudo"]),
    // A restart checks that the KV mount and AppRole are in place.
    rule("sys/mounts", ["read"]),
    rule("sys/auth", ["read"]),
  ].join("\n");
}

/** Read on exactly the secrets the service's templates reference, plus its rendered records. */
export function servicePolicy(manifest: Manifest, service: string, kvMount: string): string {
  const kv = checkSegment("KV mount", kvMount);
  const deployment = checkSegment("deployment", manifest.deployment.name);
  const read = (path: string) => `path "${path}" {\n  capabilities = ["read"]\n}\n`;
  const lines = [
    `# strongroom: service ${checkSegment("service", service)} of deployment ${manifest.deployment.name}`,
  ];
  for (const secret of secretsReferencedBy(manifest, service)) {
    lines.push(read(kvApiPath(kv, "data", secretPath(deployment, checkSegment("secret", secret)))));
  }
  const rendered = deploymentPath(deployment, DEPLOYMENT_KEYS.renderedFolderOf(service));
  lines.push(read(kvApiPath(kv, "data", `${rendered}/*`)));
  return lines.join("\n");
}

/**
 * Writes the operator policy and creates the operator token: an orphan (it outlives the root
 * token that made it), periodic (renewed by the running broker, never a hard expiry).
 */
export async function createOperatorToken(root: VaultClient, kvMount: string): Promise<string> {
  await writePolicy(root, OPERATOR_POLICY, operatorPolicy(kvMount));
  // `write`, not node-vault's tokenCreateOrphan: that one swaps the client's own token.
  const created = await root.write("auth/token/create-orphan", {
    policies: [OPERATOR_POLICY],
    renewable: true,
    period: OPERATOR_TOKEN_PERIOD,
    display_name: "strongroom-operator",
    meta: { strongroom: "operator" },
  });
  const token = created?.auth?.client_token;
  if (typeof token !== "string" || token === "") {
    throw ERRORS.STRONGROOM_ERR_VAULT_TOKEN("Vault created no operator token");
  }
  return token;
}

/** Revokes the client's own token (the root token after bootstrap). */
export async function revokeOwnToken(client: VaultClient): Promise<void> {
  await client.write("auth/token/revoke-self", {});
}

export interface BootstrapReport {
  services: Array<{ service: string; policy: string; role: string; secrets: number }>;
  /** Services gone from the manifest since the last bootstrap: AppRoles and policies deleted. */
  removed: string[];
}

/** Everything a deployment needs in Vault, done with the operator token. */
export async function bootstrapDeployment(
  operator: VaultClient,
  options: { manifest: Manifest; manifestText: string; kvMount: string },
): Promise<BootstrapReport> {
  const { manifest, kvMount } = options;
  const deployment = checkSegment("deployment", manifest.deployment.name);
  await writePolicy(operator, OPERATOR_POLICY, operatorPolicy(kvMount));
  const manifestPath = kvApiPath(
    kvMount,
    "data",
    deploymentPath(deployment, DEPLOYMENT_KEYS.manifest),
  );
  const previous = await readServices(operator, manifestPath);

  const report: BootstrapReport = { services: [], removed: [] };
  for (const service of [...manifest.services.keys()].sort()) {
    const policy = servicePolicyName(deployment, checkSegment("service", service));
    const role = serviceRoleName(deployment, service);
    await writePolicy(operator, policy, servicePolicy(manifest, service, kvMount));
    // Updating a role keeps its role-id and secret-ids: kits handed out earlier stay valid.
    await operator.write(roleApiPath(role), {
      token_policies: [policy],
      token_ttl: "1h",
      token_max_ttl: "24h",
      secret_id_ttl: 0,
      token_type: "service",
    });
    report.services.push({
      service,
      policy,
      role,
      secrets: secretsReferencedBy(manifest, service).length,
    });
  }

  // Only services this deployment created earlier: role names alone could belong to another one.
  for (const service of previous.filter((s) => !manifest.services.has(s) && SAFE_SEGMENT.test(s))) {
    await removeServiceAccess(operator, deployment, service);
    report.removed.push(service);
  }
  await operator.write(manifestPath, {
    data: {
      file: manifest.file,
      sha256: createHash("sha256").update(options.manifestText).digest("hex"),
      yaml: options.manifestText,
      services: [...manifest.services.keys()].sort(),
    },
  });
  return report;
}

/** Deletes a service's AppRole and policy; one already gone is not an error. */
export async function removeServiceAccess(
  operator: VaultClient,
  deployment: string,
  service: string,
): Promise<void> {
  await operator.delete(roleApiPath(serviceRoleName(deployment, service))).catch(ignoreNotFound);
  await operator
    .delete(policyApiPath(servicePolicyName(deployment, service)))
    .catch(ignoreNotFound);
}

/** The AppRole credentials of one service, with a fresh secret-id (for a service kit). */
export async function mintServiceCredentials(
  operator: VaultClient,
  deployment: string,
  service: string,
): Promise<{ roleId: string; secretId: string; secretIdAccessor: string }> {
  const role = serviceRoleName(
    checkSegment("deployment", deployment),
    checkSegment("service", service),
  );
  const roleId = await operator.read(`${roleApiPath(role)}/role-id`);
  const secret = await operator.write(`${roleApiPath(role)}/secret-id`, {
    metadata: JSON.stringify({ issued_by: "strongroom service-kit" }),
  });
  return {
    roleId: roleId.data.role_id,
    secretId: secret.data.secret_id,
    secretIdAccessor: secret.data.secret_id_accessor,
  };
}

async function writePolicy(client: VaultClient, name: string, hcl: string): Promise<void> {
  await client.write(policyApiPath(name), { policy: hcl });
}

/** The services recorded with the stored manifest by the previous bootstrap. */
async function readServices(client: VaultClient, path: string): Promise<string[]> {
  try {
    const answer = await client.read(path);
    const services = answer?.data?.data?.services;
    return Array.isArray(services)
      ? services.filter((s): s is string => typeof s === "string")
      : [];
  } catch (error) {
    if (vaultStatusOf(error) === 404) return [];
    throw error;
  }
}

function ignoreNotFound(error: unknown): void {
  if (vaultStatusOf(error) !== 404) throw error;
}

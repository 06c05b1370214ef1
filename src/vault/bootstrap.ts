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
  deploymentOfServiceName,
  deploymentPath,
  KV_ROOT,
  kvApiPath,
  OPERATOR_POLICY_STEM,
  operatorPolicyName,
  policyApiPath,
  roleApiPath,
  secretPath,
  servicePolicyName,
  servicePolicyPrefix,
  serviceRoleName,
  serviceRolePrefix,
} from "./kv-layout.js";
import type { VaultClient } from "./vault-client.js";
import { readIfPresent, vaultStatusOf } from "./vault-client.js";

export const OPERATOR_TOKEN_PERIOD = "24h";

/** Names end up inside HCL strings and Vault paths: keep them to one safe path segment. */
const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function checkSegment(kind: string, name: string): string {
  if (!SAFE_SEGMENT.test(name) || name.includes("..")) {
    throw ERRORS.STRONGROOM_ERR_CONFIG(`${kind} name "${name}" cannot be used in a Vault path`);
  }
  return name;
}

/**
 * The operator token's policy for one deployment. It reads and writes every deployment's secrets
 * (a broker exports the other deployments its Vault holds), but writes only its own deployment's
 * AppRoles and service policies: never its own policy, another deployment's, or anything in sys/
 * beyond sealing (the way to root would go through there).
 */
export function operatorPolicy(
  kvMount: string,
  deployment: string,
  /** More of the deployment's own paths (kolla's layout: kolla-vault.ts). */
  extraRules: readonly string[] = [],
): string {
  const kv = checkSegment("KV mount", kvMount);
  const name = checkSegment("deployment", deployment);
  return [
    `# strongroom's operator of deployment ${name}: every deployment's secrets; its own AppRoles and service policies.`,
    rule(kvApiPath(kv, "data", `${KV_ROOT}/*`), crudl),
    rule(kvApiPath(kv, "metadata", `${KV_ROOT}/*`), ["read", "update", "delete", "list"]),
    rule(kvApiPath(kv, "metadata", KV_ROOT), ["list"]),
    rule(kvApiPath(kv, "delete", `${KV_ROOT}/*`), ["update"]),
    rule(kvApiPath(kv, "undelete", `${KV_ROOT}/*`), ["update"]),
    rule(kvApiPath(kv, "destroy", `${KV_ROOT}/*`), ["update"]),
    // Roles (kits mint secret-ids) and their policies: what a repeated bootstrap rewrites.
    rule(`${roleApiPath(serviceRolePrefix(name))}*`, crudl),
    rule("auth/approle/role", ["list"]),
    rule(`${policyApiPath(servicePolicyPrefix(name))}*`, crudl),
    // Its own policy and every other operator's: read only, whatever grants more elsewhere.
    rule(`${policyApiPath(OPERATOR_POLICY_STEM)}*`, ["read"]),
    // Identifies the token a caller presents to the broker.
    rule("auth/token/lookup", ["update"]),
    rule("sys/seal", ["update", "sudo"]),
    // A restart checks that the KV mount and AppRole are in place.
    rule("sys/mounts", ["read"]),
    rule("sys/auth", ["read"]),
    ...extraRules,
  ].join("\n");
}

/** One HCL path rule. */
export const policyRule = (path: string, capabilities: readonly string[]): string =>
  `path "${path}" {\n  capabilities = [${capabilities.map((c) => `"${c}"`).join(", ")}]\n}\n`;
const rule = policyRule;
const crudl = ["create", "read", "update", "delete", "list"];

/** Read on exactly the secrets the service's templates reference, plus its rendered records. */
export function servicePolicy(manifest: Manifest, service: string, kvMount: string): string {
  const kv = checkSegment("KV mount", kvMount);
  const deployment = checkSegment("deployment", manifest.deployment.name);
  const read = (path: string) => `path "${path}" {\n  capabilities = ["read"]\n}\n`;
  const lines = [policyOwnerLine(deployment, checkSegment("service", service))];
  for (const secret of secretsReferencedBy(manifest, service)) {
    lines.push(read(kvApiPath(kv, "data", secretPath(deployment, checkSegment("secret", secret)))));
  }
  const rendered = deploymentPath(deployment, DEPLOYMENT_KEYS.renderedFolderOf(service));
  lines.push(read(kvApiPath(kv, "data", `${rendered}/*`)));
  return lines.join("\n");
}

/** The first line of a service policy: who wrote it, read back before it is overwritten. */
export const policyOwnerLine = (deployment: string, service: string) =>
  `# strongroom: service ${service} of deployment ${deployment}`;
const POLICY_OWNER = /^# strongroom: service \S+ of deployment (\S+)$/m;

/** The deployment a service policy's text says wrote it (any version of strongroom). */
export function policyOwnerOf(text: unknown): string | undefined {
  return typeof text === "string" ? POLICY_OWNER.exec(text)?.[1] : undefined;
}

/**
 * Writes the deployment's operator policy and creates the operator token: an orphan (it outlives
 * the root token that made it), periodic (renewed by the running broker, never a hard expiry).
 * Only a root (or equally privileged) token writes that policy: the operator token cannot.
 */
export async function createOperatorToken(
  root: VaultClient,
  kvMount: string,
  deployment: string,
  extraRules: readonly string[] = [],
): Promise<string> {
  const policy = operatorPolicyName(checkSegment("deployment", deployment));
  await writePolicy(root, policy, operatorPolicy(kvMount, deployment, extraRules));
  // `write`, not node-vault's tokenCreateOrphan: that one swaps the client's own token.
  const created = await root.write("auth/token/create-orphan", {
    policies: [policy],
    renewable: true,
    period: OPERATOR_TOKEN_PERIOD,
    display_name: "strongroom-operator",
    meta: { strongroom: "operator", deployment },
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
  const previous = await readServices(operator, manifestApiPath(kvMount, deployment));

  const report: BootstrapReport = { services: [], removed: [] };
  for (const service of [...manifest.services.keys()].sort()) {
    const policy = servicePolicyName(deployment, checkSegment("service", service));
    const role = serviceRoleName(deployment, service);
    await requireOwnPolicy(operator, policy, deployment);
    await requireOwnRole(operator, role, policy, deployment);
    await writePolicy(operator, policy, servicePolicy(manifest, service, kvMount));
    await writeRole(operator, role, policy, manifest.deployment.kitSecretIdTtl);
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
  await storeManifest(operator, options);
  return report;
}

/** Updating a role keeps its role-id and secret-ids: kits handed out earlier stay valid. */
export async function writeRole(
  operator: VaultClient,
  role: string,
  policy: string,
  secretIdTtlSeconds = 0,
): Promise<void> {
  // Updating a role keeps its role-id and secret-ids: kits handed out earlier stay valid.
  await operator.write(roleApiPath(role), {
    token_policies: [policy],
    token_ttl: "1h",
    token_max_ttl: "24h",
    // The default and the longest life of a kit's secret-id (Vault enforces both); 0: none.
    secret_id_ttl: secretIdTtlSeconds,
    token_type: "service",
  });
}

/** The stored manifest (what export and a restart without --manifest read), with its services. */
export async function storeManifest(
  operator: VaultClient,
  options: { manifest: Manifest; manifestText: string; kvMount: string },
): Promise<void> {
  const { manifest, kvMount } = options;
  const deployment = checkSegment("deployment", manifest.deployment.name);
  await operator.write(manifestApiPath(kvMount, deployment), {
    data: {
      file: manifest.file,
      sha256: createHash("sha256").update(options.manifestText).digest("hex"),
      yaml: options.manifestText,
      services: [...manifest.services.keys()].sort(),
    },
  });
}

const manifestApiPath = (kvMount: string, deployment: string) =>
  kvApiPath(kvMount, "data", deploymentPath(deployment, DEPLOYMENT_KEYS.manifest));

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
  options: {
    /** Seconds the secret-id lives; default: the role's secret_id_ttl (the manifest's). */
    ttl?: number;
    /** The kit's certificate serial, copied onto its tokens: the broker refuses a revoked kit's. */
    kit?: string;
  } = {},
): Promise<{
  roleId: string;
  secretId: string;
  secretIdAccessor: string;
  /** Seconds it lives (0: until destroyed). */
  secretIdTtl: number;
}> {
  const role = serviceRoleName(
    checkSegment("deployment", deployment),
    checkSegment("service", service),
  );
  const roleId = await operator.read(`${roleApiPath(role)}/role-id`);
  // Vault copies secret-id metadata onto the tokens it logs in: the broker checks the deployment.
  const secret = await operator.write(`${roleApiPath(role)}/secret-id`, {
    metadata: JSON.stringify({
      issued_by: "strongroom service-kit",
      deployment,
      service,
      ...(options.kit && { kit: options.kit }),
    }),
    ...(options.ttl !== undefined && { ttl: options.ttl }),
  });
  return {
    roleId: roleId.data.role_id,
    secretId: secret.data.secret_id,
    secretIdAccessor: secret.data.secret_id_accessor,
    secretIdTtl: Number(secret.data.secret_id_ttl ?? 0),
  };
}

/** Refuses to overwrite a policy that another deployment (or someone else) wrote. */
export async function requireOwnPolicy(
  operator: VaultClient,
  policy: string,
  deployment: string,
): Promise<void> {
  const existing = await readIfPresent(operator, policyApiPath(policy));
  if (existing === undefined) return;
  const owner = policyOwnerOf(existing?.data?.policy);
  if (owner !== deployment) throw notOurs("policy", policy, owner);
}

/** Refuses to overwrite an AppRole role whose tokens get another deployment's policies. */
export async function requireOwnRole(
  operator: VaultClient,
  role: string,
  policy: string,
  deployment: string,
): Promise<void> {
  const existing = await readIfPresent(operator, roleApiPath(role));
  if (existing === undefined) return;
  const policies: unknown = existing?.data?.token_policies ?? existing?.data?.policies;
  const list = Array.isArray(policies) ? policies.filter((p) => typeof p === "string") : [];
  if (list.length === 1 && list[0] === policy) return;
  const owner = list.map(deploymentOfServiceName).find((d) => d !== undefined && d !== deployment);
  throw notOurs("AppRole role", role, owner);
}

function notOurs(kind: string, name: string, owner: string | undefined): Error {
  const whose = owner
    ? `belongs to deployment "${owner}"`
    : "was not written by strongroom for this deployment";
  return ERRORS.STRONGROOM_ERR_VAULT_OWNER(
    `Vault ${kind} "${name}" ${whose}: strongroom leaves it as it is`,
  );
}

export async function writePolicy(client: VaultClient, name: string, hcl: string): Promise<void> {
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

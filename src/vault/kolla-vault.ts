/**
 * kolla's own Vault layout (kv-layout.ts, `deployment.kolla_vault`): the access strongroom needs
 * to keep that copy (rules in the operator token's policy, written with the root token at the
 * first `up`, and a KV v2 mount enabled then), and the access kolla-readpwd gets: a policy that
 * reads and lists that path only, and an AppRole with it.
 */
import type { Manifest } from "../config/manifest.js";
import { ERRORS } from "../lib/errors.js";
import {
  checkSegment,
  mintServiceCredentials,
  policyOwnerLine,
  policyRule,
  removeServiceAccess,
  requireOwnPolicy,
  requireOwnRole,
  writePolicy,
  writeRole,
} from "./bootstrap.js";
import {
  KOLLA_READER,
  type KollaVaultLayout,
  kollaReaderPolicyName,
  kollaReaderRoleName,
  kollaVaultLayout,
  kvApiPath,
  roleApiPath,
} from "./kv-layout.js";
import { readIfPresent, type VaultClient, vaultStatusOf } from "./vault-client.js";

/** The deployment's kolla layout, or undefined when `deployment.kolla_vault` is not set. */
export function kollaLayoutOf(manifest: Manifest): KollaVaultLayout | undefined {
  const settings = manifest.deployment.kollaVault;
  return settings ? kollaVaultLayout(settings) : undefined;
}

/** `<mount>/<route>/<path>` with every segment checked (they end up in HCL strings). */
function apiPath(layout: KollaVaultLayout, route: string, below = ""): string {
  const segments = [...layout.mount.split("/"), ...layout.path.split("/")];
  for (const segment of segments) checkSegment("kolla_vault mount or path", segment);
  return kvApiPath(layout.mount, route, `${layout.path}${below}`);
}

/** What the operator token needs on kolla's path: write, read back, list and remove entries. */
export function kollaOperatorRules(layout: KollaVaultLayout): string[] {
  return [
    `# kolla's layout (kolla-writepwd's), kept by strongroom for this deployment.`,
    policyRule(apiPath(layout, "data", "/*"), ["create", "read", "update", "delete", "list"]),
    policyRule(apiPath(layout, "metadata", "/*"), ["read", "delete", "list"]),
    policyRule(apiPath(layout, "metadata"), ["list"]),
  ];
}

/** kolla-readpwd's policy: read every entry, list the folder; nothing else. */
export function kollaReaderPolicy(deployment: string, layout: KollaVaultLayout): string {
  return [
    policyOwnerLine(checkSegment("deployment", deployment), KOLLA_READER),
    policyRule(apiPath(layout, "data", "/*"), ["read"]),
    policyRule(apiPath(layout, "metadata", "/*"), ["list"]),
    policyRule(apiPath(layout, "metadata"), ["list"]),
  ].join("\n");
}

export interface KollaAccess {
  mount: string;
  path: string;
  role: string;
  policy: string;
}

/**
 * With the operator token: checks that the mount is there and the token may write kolla's path
 * (both are set up with the root token, at the first `up` only), then writes kolla-readpwd's
 * policy and AppRole. Without `kolla_vault`, a reader made earlier loses its access.
 */
export async function bootstrapKollaAccess(
  operator: VaultClient,
  manifest: Manifest,
): Promise<KollaAccess | undefined> {
  const deployment = manifest.deployment.name;
  const layout = kollaLayoutOf(manifest);
  if (manifest.services.has(KOLLA_READER)) {
    if (!layout) return undefined; // a service of that name, not kolla's reader
    throw ERRORS.STRONGROOM_ERR_CONFIG(
      `service "${KOLLA_READER}" is reserved for kolla's reader when deployment.kolla_vault is set: rename it`,
    );
  }
  if (!layout) {
    if (await kollaReaderExists(operator, deployment)) {
      await removeServiceAccess(operator, deployment, KOLLA_READER);
    }
    return undefined;
  }
  await requireKollaMount(operator, layout);
  await requireOperatorAccess(operator, layout);
  const policy = kollaReaderPolicyName(deployment);
  const role = kollaReaderRoleName(deployment);
  await requireOwnPolicy(operator, policy, deployment);
  await requireOwnRole(operator, role, policy, deployment);
  await writePolicy(operator, policy, kollaReaderPolicy(deployment, layout));
  await writeRole(operator, role, policy);
  return { ...layout, role, policy };
}

/** An operator token of an older version may not even look: then it never made one. */
async function kollaReaderExists(operator: VaultClient, deployment: string): Promise<boolean> {
  try {
    return (
      (await readIfPresent(operator, roleApiPath(kollaReaderRoleName(deployment)))) !== undefined
    );
  } catch (error) {
    if (vaultStatusOf(error) === 403) return false;
    throw error;
  }
}

/** A fresh secret-id of kolla-readpwd's AppRole (its role-id stays the same). */
export const mintKollaReaderCredentials = (operator: VaultClient, deployment: string) =>
  mintServiceCredentials(operator, deployment, KOLLA_READER);

const notKept = (reason: string) =>
  ERRORS.STRONGROOM_ERR_KOLLA_VAULT(
    `${reason}; strongroom sets it up with the root token, at the first \`up\` of a state dir only: ` +
      "set deployment.kolla_vault before that first `up` (an existing state dir cannot add it)",
  );

async function requireKollaMount(operator: VaultClient, layout: KollaVaultLayout): Promise<void> {
  const mounts = await operator.mounts();
  const entry = (mounts.data ?? mounts)[`${layout.mount}/`] as
    | { type?: string; options?: { version?: string } }
    | undefined;
  if (!entry) throw notKept(`kolla_vault: the Vault has no mount ${layout.mount}/`);
  if (entry.type !== "kv" || entry.options?.version !== "2") {
    throw ERRORS.STRONGROOM_ERR_VAULT_MOUNT(`${layout.mount}/ is mounted but is not KV version 2`);
  }
}

async function requireOperatorAccess(
  operator: VaultClient,
  layout: KollaVaultLayout,
): Promise<void> {
  const probe = apiPath(layout, "data", "/probe");
  const answer = await operator.write("sys/capabilities-self", { paths: [probe] });
  const capabilities: unknown = answer?.data?.[probe] ?? answer?.[probe];
  const granted = Array.isArray(capabilities) ? capabilities : [];
  if (!granted.includes("create") && !granted.includes("root")) {
    throw notKept(`kolla_vault: the operator token may not write ${layout.mount}/${layout.path}`);
  }
}

/**
 * An import into an external Vault writes into a Vault that outlives the import: it must not
 * hold the deployment already, and a failed import removes what it wrote there.
 */

import { ERRORS } from "../../lib/errors.js";
import { removeServiceAccess, revokeOwnToken } from "../../vault/bootstrap.js";
import { DEPLOYMENT_KEYS, deploymentPath, deploymentPrefix } from "../../vault/kv-layout.js";
import { KvV2 } from "../../vault/kv-v2.js";
import type { VaultClient } from "../../vault/vault-client.js";

export async function requireEmptyDeployment(
  operator: VaultClient,
  kvMount: string,
  deployment: string,
): Promise<void> {
  const existing = await new KvV2(operator, kvMount).list(`${deploymentPrefix(deployment)}/`);
  if (existing.length > 0) {
    throw ERRORS.STRONGROOM_ERR_IMPORT_TARGET(
      `the external Vault already holds deployment "${deployment}": import into a fresh Vault`,
    );
  }
}

/** Removes the deployment's keys, AppRoles and policies; best effort, every step is tried. */
export async function removeImportedDeployment(
  operator: VaultClient,
  kvMount: string,
  deployment: string,
  services: readonly string[],
): Promise<void> {
  const kv = new KvV2(operator, kvMount);
  const secrets = deploymentPath(deployment, DEPLOYMENT_KEYS.secretsFolder);
  const names = await kv.list(`${secrets}/`).catch(() => []);
  for (const name of names) await kv.destroy(`${secrets}/${name}`).catch(() => {});
  await kv.destroy(deploymentPath(deployment, DEPLOYMENT_KEYS.manifest)).catch(() => {});
  for (const service of services) {
    await removeServiceAccess(operator, deployment, service).catch(() => {});
  }
}

/** The operator token this import created is of no use once its state dir is gone. */
export async function revokeOperatorToken(operator: VaultClient): Promise<void> {
  await revokeOwnToken(operator).catch(() => {});
}

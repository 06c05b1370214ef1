/**
 * Upgrades what older versions left in a Vault: service AppRoles and policies under names without
 * a separator (`<deployment>-<service>`, ambiguous between deployments), and an operator token
 * whose shared policy `strongroom-operator` may rewrite any `strongroom-*` policy, its own
 * included. Run with that operator token, which is still allowed to do both.
 */
import { operatorPolicy, policyOwnerOf } from "./bootstrap.js";
import {
  LEGACY_OPERATOR_POLICY,
  LEGACY_OPERATOR_WRITABLE,
  legacyServicePolicyName,
  legacyServiceRoleName,
  policyApiPath,
  roleApiPath,
} from "./kv-layout.js";
import { readIfPresent, type VaultClient } from "./vault-client.js";

/** The rule of the old shared operator policy that let it rewrite any strongroom policy. */
const LEGACY_POLICY_RULE = `path "${policyApiPath(LEGACY_OPERATOR_WRITABLE)}"`;

export interface LegacyUpgrade {
  /** Services whose old-style AppRole and policy were deleted (kits made from them stop working). */
  retired: string[];
  /**
   * The operator token's policy: `current` (this version's, per deployment), `narrowed` (the old
   * shared one, rewritten now into this deployment's), `narrowed-before` (by an earlier run),
   * `broad` (the old shared one, left as it is on a Vault other deployments may share).
   */
  operatorPolicy: "current" | "narrowed" | "narrowed-before" | "broad";
}

/**
 * Deletes the old-style role and policy of each service when the policy says this deployment
 * wrote it (a same-named pair of another deployment stays), then, on a Vault that holds no other
 * deployment, rewrites the token's legacy policy into this deployment's operator policy: from then
 * on the token cannot write it again.
 */
export async function upgradeLegacyNames(
  operator: VaultClient,
  options: { deployment: string; kvMount: string; services: readonly string[]; shared: boolean },
): Promise<LegacyUpgrade> {
  const { deployment } = options;
  const self = await operator.read("auth/token/lookup-self");
  const policies: unknown = self?.data?.policies;
  // A token of this version cannot touch old-style names, and never made any.
  if (!Array.isArray(policies) || !policies.includes(LEGACY_OPERATOR_POLICY)) {
    return { retired: [], operatorPolicy: "current" };
  }
  const own = await readIfPresent(operator, policyApiPath(LEGACY_OPERATOR_POLICY));
  if (!String(own?.data?.policy ?? "").includes(LEGACY_POLICY_RULE)) {
    return { retired: [], operatorPolicy: "narrowed-before" }; // nothing old is left either
  }
  const upgrade: LegacyUpgrade = { retired: [], operatorPolicy: "broad" };

  for (const service of options.services) {
    const policy = legacyServicePolicyName(deployment, service);
    const text = await readIfPresent(operator, policyApiPath(policy));
    if (text === undefined || policyOwnerOf(text?.data?.policy) !== deployment) continue;
    const role = legacyServiceRoleName(deployment, service);
    const found = await readIfPresent(operator, roleApiPath(role));
    const rolePolicies: unknown = found?.data?.token_policies;
    if (Array.isArray(rolePolicies) && rolePolicies.length === 1 && rolePolicies[0] === policy) {
      await operator.delete(roleApiPath(role));
    }
    await operator.delete(policyApiPath(policy));
    upgrade.retired.push(service);
  }

  if (!options.shared) {
    await operator.write(policyApiPath(LEGACY_OPERATOR_POLICY), {
      policy: operatorPolicy(options.kvMount, deployment),
    });
    upgrade.operatorPolicy = "narrowed";
  }
  return upgrade;
}

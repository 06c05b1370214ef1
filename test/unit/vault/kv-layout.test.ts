import { describe, expect, it } from "vitest";
import {
  DEPLOYMENT_NAME_PATTERN,
  SERVICE_NAME_PATTERN,
} from "../../../src/config/manifest-schema.js";
import {
  deploymentOfServiceName,
  NAME_SEPARATOR,
  operatorPolicyName,
  servicePolicyName,
  servicePolicyPrefix,
  serviceRoleName,
} from "../../../src/vault/kv-layout.js";

/** Vault's AppRole role names (GenericNameRegex); the embedded server uses the same. */
const VAULT_ROLE_NAME = /^\w(?:[\w.-]*\w)?$/;

describe("Vault names", () => {
  it("two deployments never share a role or policy name, however their names overlap", () => {
    expect(serviceRoleName("site", "edge-nova")).not.toBe(serviceRoleName("site-edge", "nova"));
    expect(servicePolicyName("site", "edge-nova")).not.toBe(servicePolicyName("site-edge", "nova"));
    expect(servicePolicyName("site", "edge-nova")).not.toMatch(
      new RegExp(`^${servicePolicyPrefix("site-edge").replace(".", "\\.")}`),
    );
    expect(DEPLOYMENT_NAME_PATTERN.test(`a${NAME_SEPARATOR}b`)).toBe(false);
    expect(SERVICE_NAME_PATTERN.test(`a${NAME_SEPARATOR}b`)).toBe(false);
  });

  it("spells names Vault accepts, and reads the deployment back from them", () => {
    expect(serviceRoleName("site-edge", "nova")).toMatch(VAULT_ROLE_NAME);
    expect(serviceRoleName("0site_a", "nova_api")).toMatch(VAULT_ROLE_NAME);
    expect(servicePolicyName("site-edge", "nova")).toBe("strongroom-site-edge.nova");
    expect(deploymentOfServiceName(servicePolicyName("site-edge", "nova"))).toBe("site-edge");
    expect(deploymentOfServiceName(serviceRoleName("site", "edge-nova"))).toBe("site");
    expect(deploymentOfServiceName("strongroom-site-edge-nova")).toBeUndefined();
  });

  it("no operator policy falls under any deployment's service-policy prefix", () => {
    for (const deployment of ["operator", "operator-x", "overcloud"]) {
      expect(operatorPolicyName("overcloud").startsWith(servicePolicyPrefix(deployment))).toBe(
        false,
      );
    }
    expect(operatorPolicyName("overcloud")).not.toContain(NAME_SEPARATOR);
  });
});

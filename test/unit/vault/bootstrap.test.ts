import { describe, expect, it } from "vitest";
import { loadManifest, secretsReferencedBy } from "../../../src/config/manifest.js";
import { Acl } from "../../../src/embedded-vault/policy/acl.js";
import { parsePolicy } from "../../../src/embedded-vault/policy/policy.js";
import { operatorPolicy, servicePolicy } from "../../../src/vault/bootstrap.js";
import { EXAMPLE_MANIFEST } from "../../helpers/strongroom-up.js";

const manifest = loadManifest(EXAMPLE_MANIFEST);
const aclOf = (name: string, hcl: string) => new Acl([parsePolicy(name, hcl)]);

describe("bootstrap policies", () => {
  it("a service reads exactly the secrets its templates reference, and its own rendered records", () => {
    const acl = aclOf("strongroom-overcloud.nova", servicePolicy(manifest, "nova", "secret"));
    const mine = secretsReferencedBy(manifest, "nova");
    expect(mine).toContain("NovaPassword");
    for (const name of manifest.secrets.keys()) {
      const path = `secret/data/strongroom/overcloud/secrets/${name}`;
      expect(acl.capabilities(path), name).toEqual(mine.includes(name) ? ["read"] : ["deny"]);
    }
    expect(
      acl.capabilities("secret/data/strongroom/overcloud/rendered/nova/database/connection"),
    ).toEqual(["read"]);
    expect(
      acl.capabilities("secret/data/strongroom/overcloud/rendered/neutron/database/connection"),
    ).toEqual(["deny"]);
    expect(acl.capabilities("secret/data/strongroom/overcloud/secrets/NovaPasswordX")).toEqual([
      "deny",
    ]);
    expect(acl.capabilities("secret/data/strongroom/overcloud/manifest")).toEqual(["deny"]);
    expect(acl.capabilities("secret/metadata/strongroom/overcloud/secrets/NovaPassword")).toEqual([
      "deny",
    ]);
    expect(acl.capabilities("secret/data/strongroom/edge/secrets/NovaPassword")).toEqual(["deny"]);
  });

  it("the operator manages every deployment's secrets, its own deployment's roles and policies, and nothing root-only", () => {
    const acl = aclOf("strongroom-operator-overcloud", operatorPolicy("secret", "overcloud"));
    expect(acl.capabilities("secret/data/strongroom/overcloud/secrets/NovaPassword")).toEqual(
      expect.arrayContaining(["create", "read", "update", "delete"]),
    );
    expect(acl.allows("auth/approle/role/overcloud.nova/secret-id", "update")).toBe(true);
    expect(acl.allows("auth/approle/role/overcloud.nova", "update")).toBe(true);
    expect(acl.allows("auth/approle/role/edge.nova", "update")).toBe(false);
    expect(acl.allows("auth/approle/role/edge.nova/secret-id", "update")).toBe(false);
    // kits list and kits revoke: the deployment's secret-ids, listed and destroyed by accessor.
    expect(acl.allows("auth/approle/role/overcloud.nova/secret-id", "list")).toBe(true);
    expect(
      acl.allows("auth/approle/role/overcloud.nova/secret-id-accessor/destroy", "update"),
    ).toBe(true);
    expect(acl.allows("auth/approle/role/edge.nova/secret-id", "list")).toBe(false);
    expect(acl.allows("auth/token/lookup", "update")).toBe(true);
    expect(acl.allows("sys/seal", "update", true)).toBe(true);
    expect(acl.allows("sys/policies/acl/strongroom-overcloud.nova", "update")).toBe(true);
    expect(acl.allows("sys/policies/acl/strongroom-overcloud.nova", "delete")).toBe(true);
    // Its own policy, any other operator's, another deployment's, anything else: never written.
    for (const policy of [
      "strongroom-operator-overcloud",
      "strongroom-operator",
      "strongroom-operator-edge",
      "strongroom-edge.nova",
      "strongroom-overcloud-nova",
      "strongroom-anything",
      "admin",
    ]) {
      expect(acl.allows(`sys/policies/acl/${policy}`, "update"), policy).toBe(false);
      expect(acl.allows(`sys/policies/acl/${policy}`, "create"), policy).toBe(false);
      expect(acl.allows(`sys/policy/${policy}`, "update"), policy).toBe(false);
    }
    expect(acl.allows("sys/policies/acl/strongroom-operator-overcloud", "read")).toBe(true);
    expect(acl.allows("sys/audit/file", "update", true)).toBe(false);
    expect(acl.allows("secret/data/other/thing", "read")).toBe(false);
    expect(acl.allows("auth/token/create", "update")).toBe(false);
    expect(acl.allows("sys/mounts/secret", "update")).toBe(false);
  });

  it("a deployment called operator writes its service policies, never another operator's policy", () => {
    const acl = aclOf("strongroom-operator-operator", operatorPolicy("secret", "operator"));
    expect(acl.allows("sys/policies/acl/strongroom-operator.nova", "update")).toBe(true);
    expect(acl.allows("sys/policies/acl/strongroom-operator-overcloud", "update")).toBe(false);
    expect(acl.allows("sys/policies/acl/strongroom-operator-operator", "update")).toBe(false);
  });

  it("refuses names that would escape their path segment", () => {
    expect(() => operatorPolicy('secret"', "overcloud")).toThrow(/cannot be used in a Vault path/);
    expect(() => operatorPolicy("secret", "a*")).toThrow(/cannot be used in a Vault path/);
  });
});

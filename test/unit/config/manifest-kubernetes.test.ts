/** The manifest's Kubernetes stanzas: `restart: {kind: kubernetes}` and `sinks:`. */
import { describe, expect, it } from "vitest";
import { parseManifest } from "../../../src/config/manifest.js";
import { manifestProblems as problemsOf } from "../../helpers/manifest-problems.js";

const lines = (...l: string[]) => `${l.join("\n")}\n`;
const HEAD = ["deployment: { name: test }", "secrets: { AdminPassword: , NovaPassword: }"];

describe("manifest: Kubernetes restarts and secret sinks", () => {
  it("reads sinks: the keys map Secret keys to secrets, the stanza is kept for its driver", () => {
    const manifest = parseManifest(
      lines(
        ...HEAD,
        "services:",
        "  nova-api:",
        "    restart: { kind: kubernetes, resource: deployment/nova-api, namespace: openstack, timeout_seconds: 600 }",
        "sinks:",
        "  - kind: kubernetes-secret",
        "    namespace: openstack",
        "    name: osp-secret",
        "    keys: { AdminPassword: AdminPassword, NovaPassword: NovaPassword }",
      ),
      "m.yaml",
    );
    expect(manifest.services.get("nova-api")?.restart).toEqual({
      kind: "kubernetes",
      resource: "deployment/nova-api",
      namespace: "openstack",
      timeout_seconds: 600,
    });
    expect(manifest.sinks).toHaveLength(1);
    expect(manifest.sinks[0]!.kind).toBe("kubernetes-secret");
    expect([...manifest.sinks[0]!.keys]).toEqual([
      ["AdminPassword", "AdminPassword"],
      ["NovaPassword", "NovaPassword"],
    ]);
    expect(manifest.sinks[0]!.stanza).toMatchObject({ name: "osp-secret", namespace: "openstack" });
    expect(parseManifest(lines(...HEAD), "m.yaml").sinks).toEqual([]);
  });

  it("names the line of a bad sink or kubernetes restart stanza", () => {
    expect(
      problemsOf(
        lines(
          ...HEAD,
          "sinks:",
          "  - { kind: kubernetes-secret, name: osp-secret, keys: { AdminPassword: KeystonePassword } }",
        ),
      ),
    ).toEqual(['4:73: sink key "AdminPassword": unknown secret "KeystonePassword"']);
    expect(
      problemsOf(
        lines(...HEAD, "sinks:", "  - { kind: kubernetes-secret, keys: { A: AdminPassword } }"),
      ),
    ).toEqual(['4:5: missing required key "name"']);
    expect(
      problemsOf(lines(...HEAD, "sinks:", "  - { kind: kubernetes-secret, name: s, keys: {} }")),
    ).toEqual(["4:47: must not be empty"]);
    expect(
      problemsOf(
        lines(
          ...HEAD,
          "services:",
          "  s:",
          "    restart: { kind: kubernetes, resource: deployment/s, timeout: 5 }",
        ),
      ),
    ).toEqual(['5:58: unknown key "timeout"']);
  });
});

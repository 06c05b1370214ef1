/**
 * A sink's `format` preset (osp-secret, kolla): resolved when the manifest is built into the
 * complete `keys` everything downstream uses, from the TripleO ⇄ kolla ⇄ RHOSO name map.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseManifest } from "../../../src/config/manifest.js";
import { manifestProblems as problemsOf } from "../../helpers/manifest-problems.js";
import { TRIPLEO_EXAMPLE_OSP_SECRET } from "../../helpers/osp-secret-example.js";
import { REPO_ROOT } from "../../helpers/repo-root.js";
import { EXAMPLE_MANIFEST } from "../../helpers/strongroom-up.js";

const KOLLA_MANIFEST = join(REPO_ROOT, "examples", "kolla", "manifest.yaml");
const lines = (...l: string[]) => `${l.join("\n")}\n`;
const SINK = "{ kind: kubernetes-secret, name: osp-secret, namespace: openstack";

/** An example manifest with one sink stanza appended. */
const exampleWithSink = (file: string, sink: string) =>
  parseManifest(`${readFileSync(file, "utf8")}\nsinks:\n  - ${sink}\n`, file).sinks[0]!;

describe("manifest: a sink's format preset", () => {
  it("osp-secret on TripleO's names: each RHOSO key from its TripleO parameter, in osp-secret's order", () => {
    const sink = exampleWithSink(EXAMPLE_MANIFEST, `${SINK}, format: osp-secret }`);
    expect([...sink.keys]).toEqual(Object.entries(TRIPLEO_EXAMPLE_OSP_SECRET));
    // The driver gets the resolved stanza: complete keys, no format.
    expect(sink.stanza).toEqual({
      kind: "kubernetes-secret",
      name: "osp-secret",
      namespace: "openstack",
      keys: TRIPLEO_EXAMPLE_OSP_SECRET,
    });
  });

  it("osp-secret on kolla's names: each RHOSO key from its kolla key (the Keystone password)", () => {
    const sink = exampleWithSink(KOLLA_MANIFEST, `${SINK}, format: osp-secret }`);
    expect(Object.fromEntries(sink.keys)).toEqual({
      AdminPassword: "keystone_admin_password",
      DbRootPassword: "database_password",
      PlacementPassword: "placement_keystone_password",
      NovaPassword: "nova_keystone_password",
    });
  });

  it("kolla: kolla's key names, from the same name or the TripleO counterpart", () => {
    const kolla = exampleWithSink(KOLLA_MANIFEST, `${SINK}, format: kolla }`);
    const secrets = parseManifest(readFileSync(KOLLA_MANIFEST, "utf8"), KOLLA_MANIFEST).secrets;
    expect([...kolla.keys]).toEqual([...secrets.keys()].sort().map((name) => [name, name]));

    const tripleo = exampleWithSink(EXAMPLE_MANIFEST, `${SINK}, format: kolla }`);
    expect(Object.fromEntries(tripleo.keys)).toMatchObject({
      database_password: "MysqlRootPassword",
      keystone_admin_password: "AdminPassword",
      nova_keystone_password: "NovaPassword",
      nova_api_database_password: "NovaPassword",
      metadata_secret: "NeutronMetadataProxySharedSecret",
      horizon_secret_key: "HorizonSecret",
    });
    // TripleO names without a kolla counterpart are not kolla keys.
    expect([...tripleo.keys.keys()].every((key) => /^[a-z][a-z0-9_]*$/.test(key))).toBe(true);
  });

  it("keys add to the preset's and override them", () => {
    const sink = parseManifest(
      lines(
        "deployment: { name: test }",
        "secrets: { AdminPassword: , MysqlRootPassword: , NovaPassword: }",
        "sinks:",
        `  - ${SINK}, format: osp-secret, keys: { DbRootPassword: NovaPassword, extra.key: AdminPassword } }`,
      ),
      "m.yaml",
    ).sinks[0]!;
    expect([...sink.keys]).toEqual([
      ["AdminPassword", "AdminPassword"],
      ["DbRootPassword", "NovaPassword"],
      ["NovaPassword", "NovaPassword"],
      ["extra.key", "AdminPassword"],
    ]);
    expect(sink.stanza["keys"]).toEqual(Object.fromEntries(sink.keys));
  });

  it("value types: a map secret is no preset key (Secret keys hold strings); keys may still name it", () => {
    const sink = parseManifest(
      lines(
        "deployment: { name: test }",
        "secrets:",
        "  MysqlRootPassword:",
        "  AdminPassword: { generator: ssh-keypair }",
        "  NovaPassword: { generator: { kind: random-bytes, bytes: 16, encoding: hex } }",
        "sinks:",
        `  - ${SINK}, format: osp-secret, keys: { admin-key: AdminPassword } }`,
      ),
      "m.yaml",
    ).sinks[0]!;
    expect([...sink.keys]).toEqual([
      ["DbRootPassword", "MysqlRootPassword"],
      ["NovaPassword", "NovaPassword"],
      ["admin-key", "AdminPassword"],
    ]);
    // kolla's ssh keys are {private_key, public_key} maps: not in the kolla preset either.
    const kolla = parseManifest(
      lines(
        "deployment: { name: test }",
        "secrets: { nova_ssh_key: , database_password: }",
        "sinks:",
        `  - ${SINK}, format: kolla }`,
      ),
      "m.yaml",
    ).sinks[0]!;
    expect([...kolla.keys]).toEqual([["database_password", "database_password"]]);
  });

  it("refuses an unknown format, a format that is no string, and a sink with neither keys nor format", () => {
    const head = ["deployment: { name: test }", "secrets: { AdminPassword: }", "sinks:"];
    expect(problemsOf(lines(...head, `  - ${SINK}, format: osp_secret }`))).toEqual([
      '4:80: sinks[0]: unknown format "osp_secret": use kolla or osp-secret',
    ]);
    expect(problemsOf(lines(...head, `  - ${SINK}, format: [osp-secret] }`))).toEqual([
      "4:80: must be a string",
    ]);
    expect(problemsOf(lines(...head, `  - ${SINK} }`))).toEqual([
      '4:5: sinks[0]: needs "keys", "format" or both',
    ]);
    expect(problemsOf(lines(...head, `  - ${SINK}, format: osp-secret, keys: {} }`))).toEqual([
      "4:98: must not be empty",
    ]);
  });

  it("refuses a preset that gives no key for the manifest, naming the sink", () => {
    const problems = problemsOf(
      lines(
        "deployment: { name: test }",
        "secrets: { KeystonePassword: , RpcPassword: }",
        "sinks:",
        `  - ${SINK}, keys: { k: RpcPassword } }`,
        `  - ${SINK}, format: osp-secret, keys: { k: RpcPassword } }`,
      ),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^5:80: sinks\[1\]: format osp-secret gives no key: no string secret of this manifest is the source of one \(TripleO parameters \(e\.g\. MysqlRootPassword/,
    );
  });
});

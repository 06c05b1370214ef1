/**
 * `strongroom up --seed` with a `kubernetes-secret` sink, as a child process: after the seed, the
 * broker writes the Secret through the FAKE Kubernetes API server of
 * test/helpers/fake-kube-apiserver.ts (no real one can run here), found through KUBECONFIG as
 * kubectl finds it; seeding again with the same values writes nothing. A sink written as
 * `format: osp-secret` only (examples/tripleo's manifest and passwords) gets RHOSO's key names,
 * each holding the stored value of its TripleO parameter. Values are compared as digests.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  type FakeKubeApiServer,
  startFakeKubeApiServer,
} from "../../helpers/fake-kube-apiserver.js";
import { TRIPLEO_EXAMPLE_OSP_SECRET } from "../../helpers/osp-secret-example.js";
import { digestOf, secretDigests } from "../../helpers/secret-digests.js";
import { storedSecret } from "../../helpers/stored-secrets.js";
import {
  EXAMPLE_MANIFEST,
  EXAMPLE_PASSWORDS,
  runCli,
  startUp,
  type UpHandle,
} from "../../helpers/strongroom-up.js";

/** `up --seed seedFile` of `manifest` (text) against a fake API server, stopped after the tests. */
function upWithSink(name: string, manifest: string, seedFile: (dir: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), `strongroom-kube-${name}-`));
  const run = {} as { api: FakeKubeApiServer; up: UpHandle; seedFile: string };
  beforeAll(async () => {
    run.api = await startFakeKubeApiServer();
    const kubeconfig = run.api.writeKubeconfig(dir, { namespace: "openstack" });
    writeFileSync(join(dir, "manifest.yaml"), manifest);
    run.seedFile = seedFile(dir);
    run.up = await startUp(join(dir, "state"), ["--seed", run.seedFile, "--no-schedules"], {
      manifest: join(dir, "manifest.yaml"),
      env: { KUBECONFIG: kubeconfig },
    });
  }, 120_000);
  afterAll(async () => {
    await run.up?.stop();
    await run.api?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return run;
}

describe("up --seed delivers the values to a Kubernetes Secret (fake API server)", () => {
  const run = upWithSink(
    "seed",
    [
      "deployment: { name: overcloud }",
      "secrets: { AdminPassword: , NovaPassword: }",
      "services:",
      "  nova-api:",
      '    options: { database: { connection: "mysql+pymysql://nova:{{ secret.NovaPassword }}@db/nova" } }',
      "sinks:",
      "  - kind: kubernetes-secret",
      "    name: osp-secret",
      "    keys: { AdminPassword: AdminPassword, NovaPassword: NovaPassword }",
      "",
    ].join("\n"),
    (dir) => {
      const file = join(dir, "passwords.yaml");
      writeFileSync(
        file,
        "parameter_defaults:\n  AdminPassword: seeded-admin\n  NovaPassword: seeded-nova\n",
      );
      return file;
    },
  );

  it("writes the Secret once after the seed, and not again for the same values", async () => {
    const { api, up, seedFile } = run;
    const secret = api.secret("openstack", "osp-secret");
    expect(secret).toBeDefined();
    const decoded = (key: string) => Buffer.from(secret!.data[key], "base64").toString("utf8");
    expect(digestOf(decoded("AdminPassword"))).toBe(digestOf("seeded-admin"));
    expect(digestOf(decoded("NovaPassword"))).toBe(digestOf("seeded-nova"));
    expect(api.writesSince(0).map((r) => [r.path, r.contentType, r.query])).toEqual([
      [
        "/api/v1/namespaces/openstack/secrets/osp-secret",
        "application/apply-patch+yaml",
        { fieldManager: "strongroom", force: "true" },
      ],
    ]);
    expect(up.stdout() + up.stderr()).toMatch(/secret sink/);

    const since = api.requests.length;
    const again = await runCli(up.stateDir, ["seed", seedFile]);
    expect(again.code).toBe(0);
    expect(api.requests.length).toBeGreaterThan(since); // it looked
    expect(api.writesSince(since)).toEqual([]); // and wrote nothing
  });
});

describe("up --seed with a `format: osp-secret` sink writes RHOSO's keys (fake API server)", () => {
  const run = upWithSink(
    "osp-preset",
    `${readFileSync(EXAMPLE_MANIFEST, "utf8")}
sinks:
  - { kind: kubernetes-secret, name: osp-secret, namespace: openstack, format: osp-secret }
`,
    () => EXAMPLE_PASSWORDS,
  );

  it("the Secret's keys are RHOSO's names, each the stored value of its TripleO parameter", async () => {
    const secret = run.api.secret("openstack", "osp-secret");
    expect(secret).toBeDefined();
    expect(Object.keys(secret!.data).sort()).toEqual(
      Object.keys(TRIPLEO_EXAMPLE_OSP_SECRET).sort(),
    );
    const written: Record<string, string> = {};
    const stored: Record<string, string> = {};
    for (const [key, parameter] of Object.entries(TRIPLEO_EXAMPLE_OSP_SECRET)) {
      written[key] = Buffer.from(secret!.data[key], "base64").toString("utf8");
      stored[key] = (await storedSecret(run.up.stateDir, "overcloud", parameter)).value;
    }
    expect(secretDigests(written)).toEqual(secretDigests(stored));
    // The seed file's own values (not generated ones) reached the Secret.
    const seeded = parse(readFileSync(EXAMPLE_PASSWORDS, "utf8")).parameter_defaults;
    expect(secretDigests([written.DbRootPassword, written.MetadataSecret])).toEqual(
      secretDigests([seeded.MysqlRootPassword, seeded.NeutronMetadataProxySharedSecret]),
    );
  });
});

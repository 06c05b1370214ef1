/**
 * `strongroom up --seed` with a `kubernetes-secret` sink, as a child process: after the seed, the
 * broker writes the Secret through the FAKE Kubernetes API server of
 * test/helpers/fake-kube-apiserver.ts (no real one can run here), found through KUBECONFIG as
 * kubectl finds it; seeding again with the same values writes nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FakeKubeApiServer,
  startFakeKubeApiServer,
} from "../../helpers/fake-kube-apiserver.js";
import { digestOf } from "../../helpers/secret-digests.js";
import { runCli, startUp, type UpHandle } from "../../helpers/strongroom-up.js";

describe("up --seed delivers the values to a Kubernetes Secret (fake API server)", () => {
  const dir = mkdtempSync(join(tmpdir(), "strongroom-kube-seed-"));
  const seedFile = join(dir, "passwords.yaml");
  let api: FakeKubeApiServer;
  let up: UpHandle | undefined;

  beforeAll(async () => {
    api = await startFakeKubeApiServer();
    const kubeconfig = api.writeKubeconfig(dir, { namespace: "openstack" });
    const manifest = join(dir, "manifest.yaml");
    writeFileSync(
      manifest,
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
    );
    writeFileSync(
      seedFile,
      "parameter_defaults:\n  AdminPassword: seeded-admin\n  NovaPassword: seeded-nova\n",
    );
    up = await startUp(join(dir, "state"), ["--seed", seedFile, "--no-schedules"], {
      manifest,
      env: { KUBECONFIG: kubeconfig },
    });
  }, 120_000);

  afterAll(async () => {
    await up?.stop();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes the Secret once after the seed, and not again for the same values", async () => {
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
    expect(up!.stdout() + up!.stderr()).toMatch(/secret sink/);

    const since = api.requests.length;
    const again = await runCli(up!.stateDir, ["seed", seedFile]);
    expect(again.code).toBe(0);
    expect(api.requests.length).toBeGreaterThan(since); // it looked
    expect(api.writesSince(since)).toEqual([]); // and wrote nothing
  });
});

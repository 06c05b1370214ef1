/**
 * A rotation whose consumers run on Kubernetes: the `command` rotation target (operator hooks
 * keeping the credential in a file), the built-in driver registry, and the FAKE Kubernetes API
 * server of test/helpers/fake-kube-apiserver.ts (no real one can run here). After the commit,
 * the `kubernetes-secret` sink writes the new value into the Secret; then the `kubernetes`
 * restarter rolls the Deployment out and waits for it; a rollout that never becomes available,
 * or a Secret that cannot be written, stops the rotation before anything is retired.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDriverRegistry } from "../../../drivers/registry.js";
import { CONTENT_HASH_ANNOTATION } from "../../../drivers/secret-sinks/kubernetes-secret/index.js";
import { parseManifest } from "../../../src/config/manifest.js";
import { createSecretSinks } from "../../../src/rotation/secret-sinks.js";
import {
  type FakeKubeApiServer,
  startFakeKubeApiServer,
} from "../../helpers/fake-kube-apiserver.js";
import { createMemoryKeyManager } from "../../helpers/memory-key-manager.js";
import { createMemoryRotationService } from "../../helpers/memory-rotations.js";
import { digestOf } from "../../helpers/secret-digests.js";

const SECRET_PATH = "/api/v1/namespaces/openstack/secrets/osp-secret";

describe("rotation with Kubernetes consumers (fake API server: no real one can run here)", () => {
  const dir = mkdtempSync(join(tmpdir(), "strongroom-kube-rotation-"));
  let api: FakeKubeApiServer;
  let kubeconfig: string;
  beforeAll(async () => {
    api = await startFakeKubeApiServer();
    kubeconfig = api.writeKubeconfig(dir);
  });
  afterAll(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The command target's hooks: apply stores the stdin line in a file, verify compares. */
  const hook = (name: string, body: string) => {
    const file = join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return file;
  };
  const credential = (secret: string) => join(dir, `${secret}.credential`);

  const manifestText = () => {
    const apply = hook("apply", `IFS= read -r value; printf '%s' "$value" > "$1"`);
    const verify = hook("verify", `IFS= read -r value; [ "$value" = "$(cat "$1")" ]`);
    const target = (secret: string) =>
      `{ kind: command, apply: [${apply}, ${credential(secret)}], verify: [${verify}, ${credential(secret)}] }`;
    const restart = (deployment: string) =>
      `{ kind: kubernetes, resource: deployment/${deployment}, namespace: openstack, kubeconfig: ${kubeconfig}, timeout_seconds: 2 }`;
    return `
deployment: { name: overcloud }
secrets:
  AdminPassword: {}
  NovaPassword:
    generator: { kind: alphanumeric, length: 24 }
    target: ${target("NovaPassword")}
  CinderPassword:
    generator: { kind: alphanumeric, length: 24 }
    target: ${target("CinderPassword")}
services:
  nova-api:
    options: { database: { connection: "mysql+pymysql://nova:{{ secret.NovaPassword }}@db/nova" } }
    restart: ${restart("nova-api")}
    rolling: { confirm_fetch: false }
  cinder-api:
    options: { database: { connection: "mysql+pymysql://cinder:{{ secret.CinderPassword }}@db/cinder" } }
    restart: ${restart("cinder-api")}
    rolling: { confirm_fetch: false }
sinks:
  - kind: kubernetes-secret
    namespace: openstack
    name: osp-secret
    kubeconfig: ${kubeconfig}
    keys: { AdminPassword: AdminPassword, NovaPassword: NovaPassword, CinderPassword: CinderPassword }
`;
  };

  async function setup() {
    const manifest = parseManifest(manifestText(), join(dir, "manifest.yaml"));
    const initial = {
      AdminPassword: "admin-1",
      NovaPassword: "nova-1",
      CinderPassword: "cinder-1",
    };
    const keyManager = createMemoryKeyManager(initial);
    for (const [name, value] of Object.entries(initial)) writeFileSync(credential(name), value);
    const registry = createDriverRegistry();
    const sinks = createSecretSinks({ manifest, keyManager, registry });
    const service = createMemoryRotationService({ manifest, keyManager, registry, sinks });
    const rotate = async (secret: string) => {
      const [started] = await service.start([secret]);
      await service.idle();
      return service.get(started!.id);
    };
    return { keyManager, sinks, rotate, service };
  }

  const secretValue = (key: string) =>
    Buffer.from(api.secret("openstack", "osp-secret")!.data[key], "base64").toString("utf8");
  const hashAnnotation = () =>
    api.secret("openstack", "osp-secret")!.metadata.annotations[CONTENT_HASH_ANNOTATION];

  it("writes the Secret after the commit, then restarts the Deployment and waits for its rollout", async () => {
    api.addWorkload("deployments", "openstack", "nova-api", { replicas: 2 });
    api.addWorkload("deployments", "openstack", "cinder-api", { behaviour: "unavailable" });
    const { keyManager, sinks, rotate } = await setup();
    // What a seed does: every sink gets every value once.
    const seeded = await sinks.sync();
    expect(seeded.map((r) => [r.sink, r.written])).toEqual([
      ["kubernetes Secret openstack/osp-secret", true],
    ]);
    const seededHash = hashAnnotation();
    expect(digestOf(secretValue("NovaPassword"))).toBe(digestOf("nova-1"));

    const since = api.requests.length;
    const view = await rotate("NovaPassword");
    expect(view.status).toBe("done");
    expect(view.history.map((h) => h.step)).toEqual([
      "planned",
      "staged",
      "applied",
      "verified",
      "committed",
      "restarted",
      "retired",
      "done",
    ]);
    const rotated = await keyManager.get("NovaPassword");
    expect(rotated?.version).toBe(2);
    expect(digestOf(secretValue("NovaPassword"))).toBe(digestOf(rotated?.value));
    expect(digestOf(secretValue("AdminPassword"))).toBe(digestOf("admin-1"));
    expect(hashAnnotation()).not.toBe(seededHash);
    // The Secret first, then the restart (its pods read the new Secret), and only nova-api.
    expect(api.writesSince(since).map((r) => [r.method, r.path, r.query["fieldManager"]])).toEqual([
      ["PATCH", SECRET_PATH, "strongroom"],
      ["PATCH", "/apis/apps/v1/namespaces/openstack/deployments/nova-api", "kubectl-rollout"],
    ]);
    const deployment = api.workload("deployments", "openstack", "nova-api")!;
    expect(deployment.status).toMatchObject({ updatedReplicas: 2, availableReplicas: 2 });
    expect(deployment.spec.template.metadata.annotations).toHaveProperty(
      "kubectl.kubernetes.io/restartedAt",
    );

    // A sync with nothing new writes nothing; the hash changes only with a value.
    const quiet = api.requests.length;
    expect((await sinks.sync(["NovaPassword"])).map((r) => r.written)).toEqual([false]);
    expect(api.writesSince(quiet)).toEqual([]);
  });

  it("the plan names the Kubernetes resource each consumer restarts", async () => {
    const { service } = await setup();
    const [plan] = await service.plan(["NovaPassword"]);
    expect(plan!.consumers).toEqual([
      { service: "nova-api", restart: "kubernetes: deployment/nova-api", health: "none" },
    ]);
  });

  it("a rollout that never becomes available stops the rotation with the reason; nothing is retired", async () => {
    const { keyManager, rotate } = await setup();
    const since = api.requests.length;
    const view = await rotate("CinderPassword");
    expect(view.status).toBe("failed");
    expect(view.step).toBe("committed");
    expect(view.history.map((h) => h.step)).not.toContain("retired");
    expect(view.restarted).toEqual([]);
    expect(view.error).toEqual({
      step: "restart",
      message:
        'cinder-api: restart of cinder-api: the rollout of deployment openstack/cinder-api did not finish within 2 s (Waiting for deployment "cinder-api" rollout to finish: 0 of 2 updated replicas are available)',
    });
    expect(view.resume).toMatch(/restart the consumers/);
    // Committed and written to the Secret (the consumers must get it on resume), not retired.
    const committed = await keyManager.get("CinderPassword");
    expect(committed?.version).toBe(2);
    expect(digestOf(secretValue("CinderPassword"))).toBe(digestOf(committed?.value));
    expect(digestOf(readFileSync(credential("CinderPassword"), "utf8"))).toBe(
      digestOf(committed?.value),
    );
    expect(api.writesSince(since).map((r) => r.path)).toEqual([
      SECRET_PATH,
      "/apis/apps/v1/namespaces/openstack/deployments/cinder-api",
    ]);
  });

  it("a Secret that cannot be written stops the rotation after its commit, before any restart", async () => {
    const { rotate } = await setup();
    const since = api.requests.length;
    api.failWith(
      403,
      "Forbidden",
      'secrets "osp-secret" is forbidden: User "system:serviceaccount:openstack:strongroom" cannot get resource "secrets"',
    );
    let view: Awaited<ReturnType<typeof rotate>>;
    try {
      view = await rotate("NovaPassword");
    } finally {
      api.failWith(undefined);
    }
    expect(view.status).toBe("failed");
    expect(view.step).toBe("committed");
    expect(view.error?.message).toMatch(
      /^secret sink: kubernetes Secret openstack\/osp-secret: cannot read it: HTTP 403 Forbidden: secrets "osp-secret" is forbidden.*\(no consumer restarted\)$/,
    );
    expect(api.writesSince(since)).toEqual([]);
  });
});

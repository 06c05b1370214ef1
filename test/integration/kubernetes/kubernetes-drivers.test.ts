/**
 * The `kubernetes` restarter and the `kubernetes-secret` sink through @kubernetes/client-node,
 * against test/helpers/fake-kube-apiserver.ts: a FAKE API server (HTTPS on 127.0.0.1), because
 * no real Kubernetes API server can run here. The fake records every request, and the tests
 * check each one has the shape kubectl sends (`kubectl rollout restart`'s strategic-merge PATCH
 * with fieldManager=kubectl-rollout; `kubectl apply --server-side`'s apply PATCH).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { driver as restarterDriver } from "../../../drivers/restarters/kubernetes/index.js";
import {
  CONTENT_HASH_ANNOTATION,
  contentHash,
  driver as sinkDriver,
} from "../../../drivers/secret-sinks/kubernetes-secret/index.js";
import { ERRORS } from "../../../src/lib/errors.js";
import {
  type FakeKubeApiServer,
  type KubeObject,
  startFakeKubeApiServer,
} from "../../helpers/fake-kube-apiserver.js";
import { digestOf, secretDigests } from "../../helpers/secret-digests.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("strongroom-kube-");
/** kubectl's RFC 3339 restartedAt, to the second, in UTC. */
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const never = () => new AbortController().signal;

describe("Kubernetes drivers against a fake API server (no real one can run here)", () => {
  let api: FakeKubeApiServer;
  let kubeconfig: string;
  // Kept for the whole file (tempDir()'s are removed after each test).
  const configDir = mkdtempSync(join(tmpdir(), "strongroom-kubeconfig-"));
  beforeAll(async () => {
    api = await startFakeKubeApiServer();
    kubeconfig = api.writeKubeconfig(configDir, { namespace: "openstack" });
  });
  afterAll(async () => {
    await api.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  const restarter = (stanza: Record<string, unknown>, service = "nova-api") =>
    restarterDriver.create({ kind: "kubernetes", kubeconfig, ...stanza }, { service });

  describe("restarter kubernetes", () => {
    it("restarts a Deployment with kubectl rollout restart's exact PATCH and waits for the rollout", async () => {
      api.addWorkload("deployments", "openstack", "nova-api", { replicas: 3 });
      const since = api.requests.length;
      await restarter({ resource: "deployment/{service}" }).restart(never());

      const requests = api.requests.slice(since);
      const [read, patch, ...polls] = requests;
      expect(read).toMatchObject({
        method: "GET",
        path: "/apis/apps/v1/namespaces/openstack/deployments/nova-api",
      });
      expect(patch).toMatchObject({
        method: "PATCH",
        path: "/apis/apps/v1/namespaces/openstack/deployments/nova-api",
        query: { fieldManager: "kubectl-rollout" },
        contentType: "application/strategic-merge-patch+json",
      });
      expect(Object.keys(patch!.query)).toEqual(["fieldManager"]);
      const restartedAt = (patch!.body as KubeObject).spec.template.metadata.annotations[
        "kubectl.kubernetes.io/restartedAt"
      ];
      expect(patch!.body).toEqual({
        spec: {
          template: {
            metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": restartedAt } },
          },
        },
      });
      expect(restartedAt).toMatch(RFC3339);
      expect(Math.abs(Date.parse(restartedAt) - Date.now())).toBeLessThan(60_000);
      // It returned only once kubectl's rollout status says done: observed, 3 updated, 3 available.
      expect(polls.length).toBeGreaterThanOrEqual(4);
      expect(polls.every((r) => r.method === "GET")).toBe(true);
      const { status, metadata } = api.workload("deployments", "openstack", "nova-api")!;
      expect(status).toMatchObject({
        observedGeneration: metadata.generation,
        updatedReplicas: 3,
        availableReplicas: 3,
      });
      expect(metadata.generation).toBe(2);
    });

    it("restarts a StatefulSet and a DaemonSet the same way (sts/ and ds/ as kubectl spells them)", async () => {
      api.addWorkload("statefulsets", "openstack", "galera", { replicas: 3 });
      api.addWorkload("daemonsets", "openstack", "nova-compute", { replicas: 4 });
      const since = api.requests.length;
      await restarter({ resource: "sts/galera" }).restart(never());
      await restarter({ resource: "ds/nova-compute", namespace: "openstack" }).restart(never());
      const patches = api.writesSince(since);
      expect(patches.map((p) => [p.path, p.contentType, p.query["fieldManager"]])).toEqual([
        [
          "/apis/apps/v1/namespaces/openstack/statefulsets/galera",
          "application/strategic-merge-patch+json",
          "kubectl-rollout",
        ],
        [
          "/apis/apps/v1/namespaces/openstack/daemonsets/nova-compute",
          "application/strategic-merge-patch+json",
          "kubectl-rollout",
        ],
      ]);
      expect(api.workload("statefulsets", "openstack", "galera")!.status).toMatchObject({
        readyReplicas: 3,
        currentRevision: "rev-2",
        updateRevision: "rev-2",
      });
      expect(api.workload("daemonsets", "openstack", "nova-compute")!.status).toMatchObject({
        updatedNumberScheduled: 4,
        numberAvailable: 4,
      });
    });

    it("fails after timeout_seconds, with kubectl's waiting message, when the new pods never become available", async () => {
      api.addWorkload("deployments", "openstack", "stuck", { behaviour: "unavailable" });
      const started = Date.now();
      const error = await restarter({ resource: "deployment/stuck", timeout_seconds: 1.5 })
        .restart(never())
        .catch((e: unknown) => e);
      expect(ERRORS.STRONGROOM_ERR_RESTART.is(error)).toBe(true);
      expect((error as Error).message).toBe(
        'restart of nova-api: the rollout of deployment openstack/stuck did not finish within 1.5 s (Waiting for deployment "stuck" rollout to finish: 0 of 2 updated replicas are available)',
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    });

    it("fails at once when the Deployment exceeds its progress deadline", async () => {
      api.addWorkload("deployments", "openstack", "late", { behaviour: "deadline" });
      const started = Date.now();
      await expect(
        restarter({ resource: "deployment/late", timeout_seconds: 60 }).restart(never()),
      ).rejects.toThrow(
        'restart of nova-api: deployment openstack/late: deployment "late" exceeded its progress deadline',
      );
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it("refuses a paused Deployment without patching it, and names a missing one", async () => {
      api.addWorkload("deployments", "openstack", "paused", { paused: true });
      const since = api.requests.length;
      await expect(restarter({ resource: "deploy/paused" }).restart(never())).rejects.toThrow(
        "restart of nova-api: deployment openstack/paused is paused (kubectl rollout resume it first)",
      );
      await expect(restarter({ resource: "deploy/absent" }).restart(never())).rejects.toThrow(
        'restart of nova-api: cannot read deployment openstack/absent: HTTP 404 NotFound: deployments.apps "absent" not found',
      );
      expect(api.writesSince(since)).toEqual([]);
    });

    it("uses KUBECONFIG when the stanza names no kubeconfig, and says so when there is no connection", async () => {
      api.addWorkload("deployments", "default", "keystone");
      const home = tempDir();
      vi.stubEnv("HOME", home);
      try {
        vi.stubEnv("KUBECONFIG", api.writeKubeconfig(tempDir()));
        const fromEnv = restarterDriver.create(
          { kind: "kubernetes", resource: "deployment/keystone" },
          { service: "keystone" },
        );
        await fromEnv.restart(never());
        expect(api.workload("deployments", "default", "keystone")!.metadata.generation).toBe(2);

        vi.stubEnv("KUBECONFIG", "");
        await expect(fromEnv.restart(never())).rejects.toThrow(
          /^restart of keystone: no Kubernetes connection: set KUBECONFIG/,
        );
      } finally {
        vi.unstubAllEnvs();
      }
    });

    it("checks its stanza at load", () => {
      const validate = (stanza: Record<string, unknown>) =>
        restarterDriver.validate!({ kind: "kubernetes", ...stanza });
      expect(validate({ resource: "deployment/nova-api", namespace: "openstack" })).toBeUndefined();
      expect(validate({ resource: "pod/nova-api" })).toMatch(/must be deployment\/NAME/);
      expect(validate({ resource: "deployment/Nova_API" })).toMatch(/not a Kubernetes object name/);
      expect(validate({ resource: "deployment/x", namespace: "Open Stack" })).toMatch(/namespace/);
      expect(validate({ resource: "deployment/x", timeout: 5 })).toBe(
        'unknown parameter "timeout"',
      );
    });
  });

  describe("secret sink kubernetes-secret", () => {
    const sink = (stanza: Record<string, unknown> = {}) =>
      sinkDriver.create(
        {
          kind: "kubernetes-secret",
          kubeconfig,
          name: "osp-secret",
          keys: { AdminPassword: "AdminPassword", NovaPassword: "NovaPassword" },
          ...stanza,
        },
        { deployment: "overcloud" },
      );
    const values = (admin: string, nova: string) =>
      new Map([
        ["AdminPassword", admin],
        ["NovaPassword", nova],
      ]);

    it("creates the Secret with kubectl apply --server-side's request, base64 data and the content hash", async () => {
      const since = api.requests.length;
      const entries = values("admin-1 $ é", "nova-1");
      const result = await sink().write(entries, never());
      expect(result.written).toBe(true);
      expect(result.detail).toMatch(/^kubernetes Secret openstack\/osp-secret created/);

      const [read, apply, ...rest] = api.requests.slice(since);
      expect(rest).toEqual([]);
      expect(read).toMatchObject({
        method: "GET",
        path: "/api/v1/namespaces/openstack/secrets/osp-secret",
      });
      expect(apply).toMatchObject({
        method: "PATCH",
        path: "/api/v1/namespaces/openstack/secrets/osp-secret",
        query: { fieldManager: "strongroom", force: "true" },
        contentType: "application/apply-patch+yaml",
      });
      const body = apply!.body as KubeObject;
      expect(secretDigests(body)).toEqual(
        secretDigests({
          apiVersion: "v1",
          kind: "Secret",
          metadata: {
            name: "osp-secret",
            namespace: "openstack",
            labels: { "app.kubernetes.io/managed-by": "strongroom" },
            annotations: {
              [CONTENT_HASH_ANNOTATION]: contentHash(entries),
              "strongroom.io/deployment": "overcloud",
            },
          },
          type: "Opaque",
          data: {
            AdminPassword: Buffer.from("admin-1 $ é").toString("base64"),
            NovaPassword: Buffer.from("nova-1").toString("base64"),
          },
        }),
      );
      const stored = api.secret("openstack", "osp-secret")!;
      expect(digestOf(Buffer.from(stored.data.AdminPassword, "base64").toString("utf8"))).toBe(
        digestOf("admin-1 $ é"),
      );
    });

    it("writes nothing when the values are unchanged; a changed value changes the hash annotation", async () => {
      const before = api.secret("openstack", "osp-secret")!.metadata.annotations[
        CONTENT_HASH_ANNOTATION
      ];
      const since = api.requests.length;
      const same = await sink().write(values("admin-1 $ é", "nova-1"), never());
      expect(same.written).toBe(false);
      expect(same.detail).toMatch(/unchanged/);
      expect(api.writesSince(since)).toEqual([]);

      const changed = await sink().write(values("admin-1 $ é", "nova-2"), never());
      expect(changed).toMatchObject({ written: true });
      expect(changed.detail).toMatch(/updated/);
      const after = api.secret("openstack", "osp-secret")!;
      expect(after.metadata.annotations[CONTENT_HASH_ANNOTATION]).not.toBe(before);
      expect(digestOf(Buffer.from(after.data.NovaPassword, "base64").toString())).toBe(
        digestOf("nova-2"),
      );
      expect(api.writesSince(since)).toHaveLength(1);
    });

    it("hashes sorted keys and values without ambiguity", () => {
      const a = contentHash(
        new Map([
          ["a", "bc"],
          ["d", "e"],
        ]),
      );
      expect(
        contentHash(
          new Map([
            ["d", "e"],
            ["a", "bc"],
          ]),
        ),
      ).toBe(a);
      expect(
        contentHash(
          new Map([
            ["a", "b"],
            ["cd", "e"],
          ]),
        ),
      ).not.toBe(a);
      expect(a).toMatch(/^[0-9a-f]{64}$/);
    });

    it("fails with STRONGROOM_ERR_SINK, the status and RBAC's message, never a value", async () => {
      api.failWith(
        403,
        "Forbidden",
        'secrets "osp-secret" is forbidden: User "system:serviceaccount:openstack:strongroom" cannot get resource "secrets"',
      );
      try {
        const error = await sink()
          .write(values("s3cret-admin", "s3cret-nova"), never())
          .catch((e: unknown) => e);
        expect(ERRORS.STRONGROOM_ERR_SINK.is(error)).toBe(true);
        expect((error as Error).message).toMatch(
          /^kubernetes Secret openstack\/osp-secret: cannot read it: HTTP 403 Forbidden: secrets "osp-secret" is forbidden/,
        );
        api.failWith(422, "Invalid", 'Secret "osp-secret" is invalid: data: s3cret-admin');
        const invalid = await sink()
          .write(values("s3cret-admin", "s3cret-nova"), never())
          .catch((e: unknown) => e);
        expect((invalid as Error).message).toBe(
          "kubernetes Secret openstack/osp-secret: cannot read it: HTTP 422 Invalid",
        );
      } finally {
        api.failWith(undefined);
      }
    });

    it("checks its stanza at load", () => {
      const validate = (stanza: Record<string, unknown>) =>
        sinkDriver.validate!({ kind: "kubernetes-secret", keys: { A: "A" }, ...stanza });
      expect(validate({ name: "osp-secret" })).toBeUndefined();
      expect(validate({ name: "OSP_secret" })).toMatch(/not a Kubernetes Secret name/);
      expect(validate({ name: "x", keys: { "a/b": "A" } })).toMatch(/not a Secret key/);
      expect(validate({ name: "x", format: "osp-secret" })).toBe('unknown parameter "format"');
    });
  });
});

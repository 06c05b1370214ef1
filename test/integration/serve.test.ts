/**
 * `bootstrap` and `serve` against strongroom's own embedded Vault started as an external one
 * (`vault-server --storage`, TLS, initialized and unsealed by the test as an operator would):
 * bootstrap is idempotent, and a serve replica answers from the files bootstrap wrote, writes
 * nothing locally, logs and audits on stdout, and reports Vault readiness on /readyz.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeKubeApiServer } from "../helpers/fake-kube-apiserver.js";
import {
  bootstrap,
  demoManifest,
  type ReplicaSite,
  runStrongroom,
  type ServeReplica,
  serveArgs,
  startReplicaSite,
  startServe,
  type TlsVault,
} from "../helpers/serve-replicas.js";
import { httpsRequest } from "../helpers/strongroom-up.js";

const MANIFEST = demoManifest("scale");

/** Every file under `dir` with its mode and content. */
function snapshot(dir: string): Map<string, { mode: number; content: string }> {
  const files = new Map<string, { mode: number; content: string }>();
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    const stat = statSync(path);
    files.set(name, {
      mode: stat.mode & 0o777,
      content: stat.isDirectory() ? "" : readFileSync(path, "utf8"),
    });
  }
  return files;
}

describe("bootstrap + serve on a TLS embedded Vault", () => {
  let site: ReplicaSite | undefined;
  let root: string;
  let vault: TlsVault;
  let manifest: string;
  let out: string;
  let replica: ServeReplica | undefined;
  beforeAll(async () => {
    // Not useTempDirs: the Vault and DIR outlive each test of this describe. The first test
    // runs bootstrap.
    site = await startReplicaSite("strongroom-serve-", () => MANIFEST, { bootstrap: false });
    ({ root, vault, manifest, out } = site);
  }, 60_000);
  afterAll(async () => {
    await replica?.stop();
    await site?.remove();
  });

  it("bootstrap writes the CA, server certificate, operator token and signer (0700 dir, 0600 files); a second run, without the admin token, changes nothing", async () => {
    const first = await bootstrap(vault, manifest, out);
    expect(first).toMatchObject({ deployment: "scale", tokenCreated: true, services: 1 });
    expect(statSync(out).mode & 0o777).toBe(0o700);
    const before = snapshot(out);
    for (const name of ["ca.pem", "ca.key", "server.pem", "server.key", "operator-token"]) {
      expect(before.get(name)?.mode, name).toBe(0o600);
    }
    expect(before.get("broker-bundle.key")?.mode).toBe(0o600);

    const again = await runStrongroom(
      ["bootstrap", "--manifest", manifest, "--vault-addr", vault.addr].concat([
        "--vault-ca",
        vault.caFile,
        "--out",
        out,
        "--json",
      ]),
    );
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ tokenCreated: false, services: 1 });
    expect(snapshot(out)).toEqual(before);
  }, 120_000);

  it("bootstrap --k8s-secret keeps DIR's top-level files in one Secret (FAKE Kubernetes API server: none can run here), and writes nothing when they did not change", async () => {
    const api = await startFakeKubeApiServer();
    try {
      const kubeconfig = api.writeKubeconfig(root, { namespace: "openstack" });
      const args = ["bootstrap", "--manifest", manifest, "--vault-addr", vault.addr].concat([
        ...["--vault-ca", vault.caFile, "--out", out, "--k8s-secret", "sr-strongroom-identity"],
        "--json",
      ]);
      const first = await runStrongroom(args, { KUBECONFIG: kubeconfig });
      expect(first.code, first.stderr).toBe(0);
      const secret = api.secret("openstack", "sr-strongroom-identity");
      const topLevel = readdirSync(out).filter((name) => statSync(join(out, name)).isFile());
      expect(Object.keys(secret?.data ?? {}).sort()).toEqual(topLevel.sort());
      for (const name of ["ca.pem", "server.key", "operator-token", "broker-bundle.key"]) {
        const held = Buffer.from(secret!.data[name], "base64");
        expect(held.equals(readFileSync(join(out, name))), name).toBe(true);
      }
      const since = api.requests.length;
      const again = await runStrongroom(args, { KUBECONFIG: kubeconfig });
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).k8sSecret).toMatch(/unchanged/);
      expect(api.writesSince(since)).toEqual([]);
    } finally {
      await api.close();
    }
  }, 120_000);

  it("bootstrap without an operator token in DIR nor VAULT_TOKEN: exit 1, STRONGROOM_ERR_VAULT_TOKEN", async () => {
    const empty = join(root, "no-token");
    const result = await runStrongroom(
      ["bootstrap", "--manifest", manifest, "--vault-addr", vault.addr].concat([
        "--vault-ca",
        vault.caFile,
        "--out",
        empty,
      ]),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^STRONGROOM_ERR_VAULT_TOKEN: /);
  }, 60_000);

  it("serve (flags from STRONGROOM_* variables) answers a service over mTLS and the operator, writes nothing locally, logs and audits JSON lines on stdout", async () => {
    const cwd = join(root, "cwd");
    mkdirSync(cwd, { mode: 0o700 });
    const args = serveArgs(vault, manifest, out, "127.0.0.1:0");
    // The Vault address and the manifest through the environment, the rest as flags.
    const viaFlags = args.filter(
      (arg, i) => ![arg, args[i - 1]].some((a) => a === "--vault-addr" || a === "--manifest"),
    );
    replica = await startServe(viaFlags, {
      cwd,
      env: { STRONGROOM_VAULT_ADDR: vault.addr, STRONGROOM_MANIFEST: manifest },
    });
    const ca = readFileSync(join(out, "ca.pem"));
    const token = readFileSync(join(out, "operator-token"), "utf8").trim();
    const put = await httpsRequest(`${replica.url}/v1/secrets/DemoPassword`, {
      ca,
      token,
      method: "PUT",
      body: { value: "first-value-123" },
    });
    expect(put.status, put.text).toBe(200);

    const identity = {
      cert: readFileSync(join(out, "identities", "demo.pem")),
      key: readFileSync(join(out, "identities", "demo.key")),
    };
    const ini = await httpsRequest(`${replica.url}/v1/config/demo.conf`, { ca, ...identity });
    expect(ini.status).toBe(200);
    expect(ini.text).toContain(`password = "first-value-123"`);
    expect(ini.text).toContain(`region = "RegionOne"`);

    expect((await httpsRequest(`${replica.url}/healthz`, { ca })).status).toBe(200);
    expect((await httpsRequest(`${replica.url}/readyz`, { ca })).status).toBe(200);

    expect(readdirSync(cwd)).toEqual([]);
    const audits = replica.records().filter((r) => r.msg === "audit");
    expect(audits.map((r) => (r.audit as { event: string }).event)).toContain("broker-start");
    expect(replica.stdout()).not.toContain("first-value-123");
    expect(replica.stderr()).toBe("");
  }, 120_000);

  it("/readyz answers 503 once the Vault is gone, /healthz still 200; SIGTERM exits 0", async () => {
    expect(replica).toBeDefined();
    const ca = readFileSync(join(out, "ca.pem"));
    await vault.server.stop();
    const ready = await httpsRequest(`${replica!.url}/readyz`, { ca });
    expect(ready.status).toBe(503);
    expect((await httpsRequest(`${replica!.url}/healthz`, { ca })).status).toBe(200);
    // SIGTERM: a clean shutdown (rotations, server and change feed closed), exit 0.
    expect(await replica!.stop()).toBe(0);
  }, 60_000);
});

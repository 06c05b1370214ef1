import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { waitFor } from "../helpers/ports.js";
import {
  EXAMPLE_PASSWORDS,
  httpsRequest,
  operatorToken,
  readState,
  runCli,
  startUp,
  type UpHandle,
  vaultServerPids,
} from "../helpers/strongroom-up.js";
import { startVaultServer, type VaultServerHandle } from "../helpers/vault-server-process.js";

const root = mkdtempSync(join(tmpdir(), "strongroom-up-"));
const stateDir = join(root, "state");
const kitDir = join(root, "nova-kit");
const seeded = (
  parseYaml(readFileSync(EXAMPLE_PASSWORDS, "utf8")) as {
    parameter_defaults: Record<string, unknown>;
  }
).parameter_defaults;
const NOVA_PASSWORD = seeded.NovaPassword as string;
// Vault token formats (hvs./hvb. here and in Vault 1.10+, s. before).
const TOKEN_PATTERN = /\b(?:hvs|hvb|s)\.[A-Za-z0-9]{20,}/g;

let up: UpHandle | undefined;

afterAll(async () => {
  await up?.stop("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? [path, ...walk(path)] : [path];
  });
}

describe("strongroom up", () => {
  beforeAll(async () => {
    up = await startUp(stateDir, ["--seed", EXAMPLE_PASSWORDS]);
  });

  it("prints how to query it: a get line and a curl line with a service kit", () => {
    const out = up!.stdout();
    expect(out).toMatch(
      /strongroom is up: deployment overcloud, 9 services \(seed: 20 imported, 3 generated\)/,
    );
    expect(out).toMatch(/bin\/strongroom\.js get keystone \S+ \S+/);
    expect(out).toMatch(/service-kit keystone --out \.\/keystone-kit/);
    expect(out).toMatch(
      /curl --cacert \.\/keystone-kit\/ca\.pem --cert \.\/keystone-kit\/client\.pem --key \.\/keystone-kit\/client\.key https:\/\/127\.0\.0\.1:\d+\/v1\/config\/keystone\//,
    );
  });

  it("`get` returns the seeded value; --json adds type and location", async () => {
    const plain = await runCli(stateDir, ["get", "nova", "keystone_authtoken", "password"]);
    expect(plain).toMatchObject({ code: 0, stdout: `${NOVA_PASSWORD}\n` });
    const json = await runCli(stateDir, [
      "get",
      "nova",
      "keystone_authtoken",
      "password",
      "--json",
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      value: NOVA_PASSWORD,
      type: "string",
      location: { source: "castellan", detail: "NovaPassword" },
    });
    const unknown = await runCli(stateDir, ["get", "nova", "nope", "nope"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("`seed` again keeps everything, prints names and actions only, and --dry-run writes nothing", async () => {
    const json = await runCli(stateDir, ["seed", EXAMPLE_PASSWORDS, "--json"]);
    expect(json.code, json.stderr).toBe(0);
    const answer = JSON.parse(json.stdout);
    expect(answer).toMatchObject({ dry_run: false, written: 0 });
    expect(answer.entries.every((e: { action: string }) => e.action === "keep")).toBe(true);
    const dry = await runCli(stateDir, ["seed", EXAMPLE_PASSWORDS, "--dry-run"]);
    expect(dry.stdout).toMatch(/^keep +NovaPassword$/m);
    expect(dry.stdout).toMatch(/0 imported, 0 generated, \d+ kept; would write 0/);
    for (const value of Object.values(seeded).filter((v): v is string => typeof v === "string")) {
      expect(`${json.stdout}${dry.stdout}${json.stderr}${dry.stderr}`).not.toContain(value);
    }
    const missing = await runCli(stateDir, ["seed", join(root, "nope.yaml")]);
    expect(missing.code).toBe(2);
  });

  it("`render` prints the INI oslo's remote_file reads, or JSON", async () => {
    const ini = await runCli(stateDir, ["render", "nova"]);
    expect(ini.code).toBe(0);
    expect(ini.stdout).toMatch(/^\[keystone_authtoken\]$/m);
    // `$` doubled for oslo's substitution.
    expect(ini.stdout).toContain(`password = "${NOVA_PASSWORD.split("$").join("$$")}"`);
    const json = await runCli(stateDir, ["render", "nova", "--format", "json"]);
    expect(JSON.parse(json.stdout).groups.keystone_authtoken.password.value).toBe(NOVA_PASSWORD);
  });

  it("revoked the root token: the state dir and the output hold only the operator token, which is not root", async () => {
    const token = operatorToken(stateDir);
    for (const file of walk(stateDir).filter((f) => statSync(f).isFile())) {
      if (relative(stateDir, file).startsWith("vault/")) continue; // barrier-encrypted storage
      const found = readFileSync(file, "latin1").match(TOKEN_PATTERN) ?? [];
      expect(
        found.filter((t) => t !== token),
        file,
      ).toEqual([]);
    }
    expect(`${up!.stdout()}${up!.stderr()}`.match(TOKEN_PATTERN)).toBeNull();

    const { vault } = readState(stateDir);
    const ca = readFileSync(join(stateDir, "ca.pem"));
    const self = await httpsRequest(`${vault.addr}/v1/auth/token/lookup-self`, { ca, token });
    expect(self.status).toBe(200);
    const data = JSON.parse(self.text).data;
    expect(data.policies).toEqual(["default", "strongroom-operator-overcloud"]);
    expect(data.policies).not.toContain("root");
    expect(data).toMatchObject({ orphan: true, renewable: true, period: 86400 });
    // Root-only paths stay closed to the operator.
    const root = await httpsRequest(`${vault.addr}/v1/sys/audit`, { ca, token });
    expect(root.status).toBe(403);
  });

  it("the operator token manages its deployment's roles and service policies, and cannot make itself root", async () => {
    const token = operatorToken(stateDir);
    const { vault } = readState(stateDir);
    const ca = readFileSync(join(stateDir, "ca.pem"));
    const call = (path: string, method = "GET", body?: unknown) =>
      httpsRequest(`${vault.addr}/v1/${path}`, { ca, token, method, body });
    const capabilities = async (path: string) =>
      JSON.parse((await call("sys/capabilities-self", "POST", { paths: [path] })).text)[path];

    // What up, service-kit, rotation and import do with it (the rest of this file runs them).
    expect(await capabilities("sys/policies/acl/strongroom-overcloud.nova")).toEqual(
      expect.arrayContaining(["create", "read", "update", "delete"]),
    );
    expect(await capabilities("auth/approle/role/overcloud.nova/secret-id")).toContain("update");
    expect((await call("auth/approle/role/overcloud.nova/role-id")).status).toBe(200);
    expect((await call("sys/policies/acl/strongroom-overcloud.nova")).status).toBe(200);

    const everything = { policy: 'path "*" {\n  capabilities = ["create", "update", "sudo"]\n}\n' };
    for (const policy of ["strongroom-operator-overcloud", "strongroom-edge.nova", "escalate"]) {
      expect((await call(`sys/policies/acl/${policy}`, "PUT", everything)).status, policy).toBe(
        403,
      );
    }
    expect((await call("sys/policy/strongroom-operator-overcloud", "PUT", everything)).status).toBe(
      403,
    );
    expect(
      (await call("auth/approle/role/edge.nova", "POST", { token_policies: ["x"] })).status,
    ).toBe(403);
    const audit = { type: "file", options: { file_path: join(root, "audit.log") } };
    expect((await call("sys/audit/escalate", "PUT", audit)).status).toBe(403);
    // Its own policy is unchanged: still no sudo anywhere but sys/seal.
    const own = JSON.parse((await call("sys/policies/acl/strongroom-operator-overcloud")).text);
    expect(own.data.policy).not.toContain('path "*"');
  });

  it("keeps the state dir 0700 and every file in it 0600", () => {
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    for (const path of walk(stateDir)) {
      const stat = statSync(path);
      expect((stat.mode & 0o777).toString(8), path).toBe(stat.isDirectory() ? "700" : "600");
    }
    const names = readdirSync(stateDir).sort();
    expect(names).toEqual(
      expect.arrayContaining([
        "ca.key",
        "ca.pem",
        "identities",
        "operator.key",
        "operator.pub",
        "operator.token",
      ]),
    );
    expect(names).toEqual(
      expect.arrayContaining(["server.key", "server.pem", "state.json", "unseal.sealed", "vault"]),
    );
  });

  it("`service-kit nova` writes the kit", async () => {
    const result = await runCli(stateDir, ["service-kit", "nova", "--out", kitDir]);
    expect(result.code, result.stderr).toBe(0);
    expect(readdirSync(kitDir).sort()).toEqual([
      "ca.pem",
      "castellan.conf",
      "client.key",
      "client.pem",
      "oslo-sources.conf",
      "secrets_mapping.conf",
    ]);
    expect(statSync(kitDir).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(kitDir))
      expect(statSync(join(kitDir, name)).mode & 0o777).toBe(0o600);
    const sources = readFileSync(join(kitDir, "oslo-sources.conf"), "utf8");
    expect(sources).toContain("config_source = strongroom\n");
    // One INI writer for every file oslo.config reads: values quoted (oslo strips the quotes).
    expect(sources).toContain(`uri = "${readState(stateDir).broker.url}/v1/config/nova.conf"`);
    expect(sources).toContain(`client_key = "${join(kitDir, "client.key")}"`);
    const castellan = readFileSync(join(kitDir, "castellan.conf"), "utf8");
    expect(castellan).toMatch(/\[key_manager\]\nbackend = vault\n/);
    expect(castellan).toMatch(/approle_secret_id = \S+/);
    expect(castellan).toContain(`ssl_ca_crt_file = "${join(kitDir, "ca.pem")}"`);
    expect(result.stdout).not.toMatch(/secret_id|[0-9a-f]{8}-[0-9a-f]{4}-/);
  });

  it("a kit carries the service's key files; `files --kit` refreshes them as that service only", async () => {
    const keystoneKit = join(root, "keystone-kit");
    const kit = await runCli(stateDir, ["service-kit", "keystone", "--out", keystoneKit]);
    expect(kit.code, kit.stderr).toBe(0);
    const files = join(keystoneKit, "files");
    expect(readdirSync(join(files, "fernet-keys")).sort()).toEqual(["0", "1"]);
    expect(readdirSync(join(files, "credential-keys")).sort()).toEqual(["0", "1"]);
    expect(statSync(join(files, "fernet-keys")).mode & 0o777).toBe(0o700);
    expect(statSync(join(files, "fernet-keys", "0")).mode & 0o777).toBe(0o600);
    const seeded = parseYaml(readFileSync(EXAMPLE_PASSWORDS, "utf8")).parameter_defaults as Record<
      string,
      unknown
    >;
    const credential = readFileSync(join(files, "credential-keys", "1"), "utf8");
    expect(credential === seeded["KeystoneCredential1"]).toBe(true);

    rmSync(join(files, "fernet-keys", "1"));
    const refresh = await runCli(stateDir, ["files", "keystone", "--kit", keystoneKit, "--json"]);
    expect(refresh.code, refresh.stderr).toBe(0);
    expect(JSON.parse(refresh.stdout).files.map((f: { path: string }) => f.path)).toContain(
      "fernet-keys/1",
    );
    expect(readdirSync(join(files, "fernet-keys")).sort()).toEqual(["0", "1"]);
    expect(refresh.stdout.includes(credential)).toBe(false);

    const other = await runCli(stateDir, ["files", "nova", "--kit", keystoneKit]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/^STRONGROOM_ERR_FORBIDDEN: /);
  });

  it("`status --json` describes the running deployment", async () => {
    const result = await runCli(stateDir, ["status", "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      deployment: "overcloud",
      broker: { running: true, ready: true },
      vault: { kind: "embedded", sealed: false, kvMount: "secret" },
      services: [
        "cinder",
        "glance",
        "heat",
        "horizon",
        "keystone",
        "neutron",
        "nova",
        "placement",
        "swift",
      ],
    });
  });

  it("refuses a second `up` on the same state dir while the first runs", async () => {
    const result = await runCli(stateDir, ["up", "--manifest", "examples/tripleo/manifest.yaml"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/already running/);
  });

  it("SIGTERM closes the broker and seals and stops the Vault it started", async () => {
    const { vault, broker } = readState(stateDir);
    expect(vaultServerPids(stateDir)).toHaveLength(1);
    const code = await up!.stop("SIGTERM");
    expect(code).toBe(0);
    expect(vaultServerPids(stateDir)).toEqual([]);
    const ca = readFileSync(join(stateDir, "ca.pem"));
    await expect(httpsRequest(`${vault.addr}/v1/sys/health`, { ca })).rejects.toThrow();
    await expect(httpsRequest(`${broker.url}/healthz`, { ca })).rejects.toThrow();
    expect(readState(stateDir).pid).toBeNull();
    const status = await runCli(stateDir, ["status"]);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/stopped/);
  });

  it("a second `up` on the same state dir unseals and serves the same values at the same addresses", async () => {
    const before = readState(stateDir);
    up = await startUp(stateDir, [], { listen: null });
    const after = readState(stateDir);
    expect(after.vault.addr).toBe(before.vault.addr);
    expect(after.broker.url).toBe(before.broker.url);
    const plain = await runCli(stateDir, ["get", "nova", "keystone_authtoken", "password"]);
    expect(plain).toMatchObject({ code: 0, stdout: `${NOVA_PASSWORD}\n` });
    // The kit made before the restart still authenticates.
    const ca = readFileSync(join(kitDir, "ca.pem"));
    const answer = await httpsRequest(
      `${after.broker.url}/v1/config/nova/keystone_authtoken/password`,
      {
        ca,
        cert: readFileSync(join(kitDir, "client.pem")),
        key: readFileSync(join(kitDir, "client.key")),
      },
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text).value).toBe(NOVA_PASSWORD);
  });

  it("after a kill -9 of `up`, its Vault exits on its own and the next `up` recovers", async () => {
    expect(vaultServerPids(stateDir)).toHaveLength(1);
    await up!.stop("SIGKILL");
    await waitFor(async () => vaultServerPids(stateDir).length === 0, {
      timeoutMs: 15_000,
      what: "the orphaned Vault server to exit",
    });
    // This run also takes INI overrides, which win over the manifest.
    const overrides = join(root, "overrides");
    mkdirSync(overrides, { mode: 0o700 });
    writeFileSync(join(overrides, "nova.conf"), "[vnc]\nserver_listen = 10.1.2.3\n");
    up = await startUp(stateDir, ["--overrides", overrides], { listen: null });
    const plain = await runCli(stateDir, ["get", "nova", "keystone_authtoken", "password"]);
    expect(plain).toMatchObject({ code: 0, stdout: `${NOVA_PASSWORD}\n` });
    const overridden = await runCli(stateDir, ["get", "nova", "vnc", "server_listen", "--json"]);
    expect(JSON.parse(overridden.stdout)).toMatchObject({
      value: "10.1.2.3",
      location: { source: "ini", detail: join(overrides, "nova.conf") },
    });
    expect(await up!.stop()).toBe(0);
    expect(vaultServerPids(stateDir)).toEqual([]);
  });
});

describe("strongroom up --vault external", () => {
  const externalState = join(root, "external-state");
  let vault: VaultServerHandle | undefined;
  let external: UpHandle | undefined;

  afterAll(async () => {
    await external?.stop("SIGKILL");
    await vault?.stop();
  });

  it("sets up a Vault it did not start, keeps the caller's token, and leaves that Vault running", async () => {
    vault = await startVaultServer({ mode: "dev" });
    const env = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken! };
    external = await startUp(externalState, ["--vault", "external", "--seed", EXAMPLE_PASSWORDS], {
      env,
    });
    expect(readState(externalState).vault).toMatchObject({ kind: "external", addr: vault.addr });
    expect(readState(externalState).vault.caFile).toBeUndefined();
    const plain = await runCli(externalState, ["get", "nova", "keystone_authtoken", "password"]);
    expect(plain).toMatchObject({ code: 0, stdout: `${NOVA_PASSWORD}\n` });

    const kit = join(root, "external-kit");
    expect((await runCli(externalState, ["service-kit", "nova", "--out", kit])).code).toBe(0);
    const castellan = readFileSync(join(kit, "castellan.conf"), "utf8");
    expect(castellan).toContain(`vault_url = "${vault.addr}"`);
    expect(castellan).not.toContain("ssl_ca_crt_file");

    expect(await external.stop()).toBe(0);
    external = undefined;
    // The operator's own token still works and the Vault is still unsealed.
    const self = await fetch(`${vault.addr}/v1/auth/token/lookup-self`, {
      headers: { "x-vault-token": vault.rootToken! },
    });
    expect(self.status).toBe(200);
    const health = await fetch(`${vault.addr}/v1/sys/health`);
    expect(health.status).toBe(200);
  });
});

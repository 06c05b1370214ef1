/**
 * Real OpenStack services on strongroom: Debian's Keystone 22 and Placement 8, two API processes
 * each (uwsgi) behind a private HAProxy, a private MariaDB, and every oslo.config option of both
 * services served by `strongroom up` (examples/openstack/manifest.yaml, seeded from
 * examples/openstack/passwords.yaml) through each service's kit: oslo.config's `remote_file`
 * source over mTLS. The local config files hold only node-local settings.
 *
 * Secrets never reach the test's output: values are compared as booleans, logs are quoted only
 * redacted (test/helpers/openstack/passwords.ts). STRONGROOM_OPENSTACK_TIMINGS=1 prints how long
 * each setup step took (about 18 s in all on two cores).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseIni } from "ini";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDriverRegistry } from "../../drivers/registry.js";
import { loadManifest } from "../../src/config/manifest.js";
import { withInstance } from "../../src/rotation/rolling-restart.js";
import { waitHealthy } from "../../src/rotation/wait-healthy.js";
import {
  type OpenStackDeployment,
  SERVICES,
  startOpenStack,
} from "../helpers/openstack/deployment.js";
import {
  identityAdmin,
  issueToken,
  localKeystoneConf,
  startKeystone,
  tokenOf,
} from "../helpers/openstack/keystone.js";
import { secretStrings } from "../helpers/openstack/passwords.js";
import { placementApi } from "../helpers/openstack/placement.js";
import { describeWithOpenStack } from "../helpers/openstack/requirements.js";
import { freePort } from "../helpers/ports.js";
import { runCli } from "../helpers/strongroom-up.js";

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;
/** Sections of the kit's oslo-sources.conf (the rest of a config file is local). */
const KIT_SECTIONS = new Set(["strongroom", "strongroom_vault"]);

describeWithOpenStack("real Keystone and Placement configured by strongroom", () => {
  let os: OpenStackDeployment;

  beforeAll(async () => {
    os = await startOpenStack();
    if (process.env["STRONGROOM_OPENSTACK_TIMINGS"]) {
      console.log(`[openstack setup ms] ${JSON.stringify(os.timings)}`);
    }
  }, 300_000);

  afterAll(async () => {
    await os?.stop();
  }, 120_000);

  /** Options strongroom serves a service: {group: {option: answer}} (values stay in memory). */
  const served = async (service: string) => {
    const rendered = await runCli(os.stateDir, ["render", service, "--format", "json"]);
    expect(rendered.code, os.redact(rendered.stderr)).toBe(0);
    return (JSON.parse(rendered.stdout) as { groups: Record<string, Record<string, unknown>> })
      .groups;
  };

  /** The bcrypt cost of a Keystone user's password hash, read in MariaDB (never printed). */
  const bcryptCost = async (user: string) => {
    const rows = await os.db.sql<{ hash: string }>(
      "SELECT p.password_hash AS hash FROM keystone.password p " +
        "JOIN keystone.local_user l ON p.local_user_id = l.id WHERE l.name = ?",
      [user],
    );
    expect(rows.length).toBe(1);
    return /^\$2[aby]?\$(\d\d)\$/.exec(rows[0]!.hash)?.[1];
  };

  it("every API process loaded its config source: none logged a failed strongroom source", () => {
    // oslo.config only logs a source it cannot read, then goes on with defaults.
    for (const proc of [...os.keystone, ...os.placement]) {
      const log = readFileSync(proc.log, "utf8");
      expect(log.includes("could not load configuration from"), proc.name).toBe(false);
      expect(log.includes("WSGI app 0 (mountpoint='') ready"), proc.name).toBe(true);
    }
  });

  it("HAProxy has two Keystone and two Placement servers UP", async () => {
    const stats = await os.haproxy.stats();
    expect(stats.map((s) => `${s.backend}/${s.server} ${s.status}`).sort()).toEqual([
      "keystone/keystone-0 UP",
      "keystone/keystone-1 UP",
      "placement/placement-0 UP",
      "placement/placement-1 UP",
    ]);
  });

  it("issues a token through HAProxy with AdminPassword, and refuses a wrong password", async () => {
    const answer = await issueToken(os.keystoneUrl, os.adminAuth);
    expect(answer.status).toBe(201);
    expect(answer.token).toMatch(/^gAAAAA/); // a fernet token
    const token = answer.body!.token as {
      user: { name: string };
      project: { name: string };
      roles: Array<{ name: string }>;
      catalog: Array<{ type: string; endpoints: Array<{ interface: string; url: string }> }>;
    };
    expect(token.user.name).toBe("admin");
    expect(token.project.name).toBe("admin");
    expect(token.roles.map((r) => r.name)).toContain("admin");
    const placement = token.catalog.find((s) => s.type === "placement");
    expect(placement?.endpoints.map((e) => `${e.interface} ${e.url}`).sort()).toEqual(
      ["admin", "internal", "public"].map((i) => `${i} ${os.placementUrl}`),
    );
    const wrong = await issueToken(os.keystoneUrl, { ...os.adminAuth, password: "not-it" });
    expect(wrong.status).toBe(401);
  });

  it("every Keystone process works on MariaDB with strongroom's options and keys, none on sqlite", async () => {
    const tokens: string[] = [];
    for (const [i, keystone] of os.keystone.entries()) {
      // Straight to the process, not through HAProxy.
      tokens.push(await tokenOf(keystone.url, os.adminAuth));
      // A user made through this process is hashed with [identity] password_hash_rounds, an
      // option only strongroom serves (Keystone's default is 12).
      const admin = identityAdmin(keystone.url, tokens[i]!);
      const name = unique(`probe-${i}`);
      await admin.createUser(name, randomBytes(12).toString("hex"));
      expect(await bcryptCost(name)).toBe("04");
      // Keystone falls back to sqlite:///keystone.db in its cwd when it gets no [database].
      expect(existsSync(join(keystone.dir, "keystone.db"))).toBe(false);
    }
    // Tokens of one process validate on the other: both have strongroom's fernet keys.
    const [k0, k1] = os.keystone;
    for (const [issuedBy, checkedBy] of [
      [0, k1!],
      [1, k0!],
    ] as const) {
      const res = await fetch(`${checkedBy.url}/v3/auth/tokens`, {
        headers: { "x-auth-token": tokens[1 - issuedBy]!, "x-subject-token": tokens[issuedBy]! },
      });
      expect(res.status).toBe(200);
    }
    // What bootstrap and the harness made is in MariaDB's keystone database.
    const users = await os.db.sql<{ name: string }>(
      "SELECT name FROM keystone.local_user WHERE name IN ('admin', 'placement') ORDER BY name",
    );
    expect(users.map((u) => u.name)).toEqual(["admin", "placement"]);
    const project = unique("project");
    const admin = identityAdmin(os.keystoneUrl, tokens[0]!);
    await admin.createProject(project);
    const rows = await os.db.sql("SELECT id FROM keystone.project WHERE name = ?", [project]);
    expect(rows.length).toBe(1);
  });

  it("Placement creates and lists resource providers through HAProxy with the placement user's token", async () => {
    const token = await tokenOf(os.keystoneUrl, os.placementAuth);
    const api = placementApi(os.placementUrl, token);
    const name = unique("rp");
    const created = await api.createResourceProvider(name);
    expect(created.status).toBe(200);
    const uuid = created.body["uuid"] as string;
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    const listed = await api.listResourceProviders();
    expect(listed.status).toBe(200);
    expect(listed.providers.find((p) => p.uuid === uuid)?.name).toBe(name);
    // Each process, straight: both read MariaDB's placement database.
    for (const placement of os.placement) {
      const direct = await placementApi(placement.url, token).listResourceProviders();
      expect(direct.status, placement.name).toBe(200);
      expect(direct.providers.some((p) => p.uuid === uuid)).toBe(true);
    }
    const rows = await os.db.sql<{ name: string }>(
      "SELECT name FROM placement.resource_providers WHERE uuid = ?",
      [uuid],
    );
    expect(rows.map((r) => r.name)).toEqual([name]);
    // An admin token works as well; no token is refused ([api] auth_strategy = keystone).
    const adminToken = await tokenOf(os.keystoneUrl, os.adminAuth);
    const asAdmin = await placementApi(os.placementUrl, adminToken).listResourceProviders();
    expect(asAdmin.providers.some((p) => p.uuid === uuid)).toBe(true);
    const anonymous = await fetch(`${os.placementUrl}/resource_providers`);
    expect(anonymous.status).toBe(401);
  });

  it("the local config files set no option strongroom serves and hold no secret", async () => {
    const secrets = secretStrings(os.passwords);
    const localFiles = {
      keystone: os.keystoneNodes.map((n) => n.configFiles[0]!),
      placement: os.placementNodes.map((n) => n.configFile),
    };
    for (const service of SERVICES) {
      const options = await served(service);
      expect(Object.keys(options).length).toBeGreaterThan(0);
      for (const file of localFiles[service]) {
        const text = readFileSync(file, "utf8");
        for (const secret of secrets) expect(text.includes(secret), file).toBe(false);
        const local = parseIni(text) as Record<string, Record<string, unknown>>;
        const clashes = Object.entries(local).flatMap(([group, values]) =>
          KIT_SECTIONS.has(group) || typeof values !== "object"
            ? []
            : Object.keys(values)
                .filter((option) => options[group]?.[option] !== undefined)
                .map((option) => `[${group}] ${option}`),
        );
        expect(clashes, file).toEqual([]);
      }
      // The kit's sources file points at the broker over mTLS, nothing else.
      const kit = parseIni(readFileSync(join(os.kits[service], "oslo-sources.conf"), "utf8"));
      expect(kit["DEFAULT"]).toEqual({ config_source: "strongroom" });
      expect(kit["strongroom"]?.["driver"]).toBe("remote_file");
      expect(kit["strongroom"]?.["uri"]).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1\/config\//);
    }
  });

  it("the HAProxy runtime API drains, puts in maintenance and readies a server without a failed request", async () => {
    const { haproxy } = os;
    const through = async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        statuses.push((await fetch(`${os.keystoneUrl}/v3`)).status);
      }
      return statuses;
    };
    await haproxy.setState("keystone", "keystone-0", "drain");
    const drained = await haproxy.server("keystone", "keystone-0");
    expect(drained.status).toBe("DRAIN");
    const before = drained.stot;
    expect(await through()).toEqual(Array(10).fill(200));
    expect((await haproxy.server("keystone", "keystone-0")).stot).toBe(before);

    await haproxy.setState("keystone", "keystone-0", "maint");
    expect((await haproxy.server("keystone", "keystone-0")).status).toBe("MAINT");
    expect((await issueToken(os.keystoneUrl, os.adminAuth)).status).toBe(201);

    await haproxy.setState("keystone", "keystone-0", "ready");
    await haproxy.waitFor("keystone", "keystone-0", (s) => s.status === "UP", { what: "UP" });
    const spread = await through();
    expect(spread).toEqual(Array(10).fill(200));
    expect((await haproxy.server("keystone", "keystone-0")).stot).toBeGreaterThan(before);
    await expect(haproxy.setState("keystone", "no-such-server", "drain")).rejects.toThrow(
      /No such server/i,
    );
  });
  it("the example's Keystone health check fails a process that could not fetch its config (it runs on an empty sqlite database), where GET /v3 answers 200", async () => {
    // A third Keystone whose config source points at a port nothing listens on.
    const dir = join(os.root, "keystone-unconfigured");
    mkdirSync(dir, { mode: 0o700 });
    const local = join(dir, "keystone.conf");
    writeFileSync(local, localKeystoneConf(os.keystoneNodes[0]!.keys), { mode: 0o600 });
    const sources = join(dir, "oslo-sources.conf");
    const kitSources = readFileSync(join(os.kits.keystone, "oslo-sources.conf"), "utf8");
    const dead = `https://127.0.0.1:${await freePort()}/`;
    writeFileSync(
      sources,
      kitSources.replace(/(\nuri = "?)https:\/\/127\.0\.0\.1:\d+\//, `$1${dead}`),
    );
    const node = { dir, configFiles: [local, sources], keys: os.keystoneNodes[0]!.keys };
    const proc = await startKeystone(node, { name: "keystone-unconfigured", redact: os.redact });
    try {
      // oslo.config only logged the failed source, and Keystone went on with its defaults.
      expect(readFileSync(proc.log, "utf8")).toContain("could not load configuration from");
      expect((await fetch(`${proc.url}/v3`)).status).toBe(200);

      const health = loadManifest(os.manifestFile).services.get("keystone")!.health!;
      const probe = withInstance(
        { ...health, retries: 0 },
        { name: proc.name, values: { port: String(proc.port) } },
      );
      const signal = AbortSignal.timeout(30_000);
      const unconfigured = await waitHealthy(createDriverRegistry(), probe, signal);
      expect(unconfigured).toMatchObject({ healthy: false });
      // Keystone fails the token request on sqlite; uWSGI answers 500 or, with the request
      // body unread, resets the connection: either way the probe fails, never 401.
      expect(unconfigured.detail).toMatch(
        /^(HTTP 500 from POST .*\/v3\/auth\/tokens \(expected 401\)|POST .*\/v3\/auth\/tokens: ECONNRESET)$/,
      );
      expect(readFileSync(proc.log, "utf8")).toContain("no such table");
      // The same check passes on a configured process.
      const configured = withInstance(
        { ...health, retries: 0 },
        { name: "keystone-0", values: { port: String(os.keystone[0]!.port) } },
      );
      expect(await waitHealthy(createDriverRegistry(), configured, signal)).toMatchObject({
        healthy: true,
      });
    } finally {
      await proc.kill();
    }
  }, 120_000);
});

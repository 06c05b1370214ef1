/**
 * Rotation without service interruption, on the real services: Debian's Keystone 22 and
 * Placement 8 (two uWSGI processes each behind HAProxy, every option from strongroom), under
 * client load through HAProxy for the whole rotation: every 50 ms a fresh token and a
 * `GET /resource_providers` with it (test/helpers/openstack/api-load.ts).
 *
 * The deployment is examples/openstack/manifest.yaml: MariaDB accounts take old and new
 * passwords side by side, Placement's Keystone user alternates (placement / placement_b), each
 * process restarts alone (drained in HAProxy, `examples/openstack/uwsgi-reload`, a health check
 * that proves function, a fetch of the new config, back in HAProxy).
 *
 * Values stay in memory: they are compared (as booleans or digests), never printed.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type LoadReport, startApiLoad } from "../helpers/openstack/api-load.js";
import { type OpenStackDeployment, startOpenStack } from "../helpers/openstack/deployment.js";
import {
  identityAdmin,
  issueToken,
  type PasswordAuth,
  tokenOf,
} from "../helpers/openstack/keystone.js";
import { describeWithOpenStack } from "../helpers/openstack/requirements.js";
import { uwsgiControl } from "../helpers/openstack/wsgi-process.js";
import { freePort, waitFor } from "../helpers/ports.js";
import { digestOf } from "../helpers/secret-digests.js";
import { storedSecret } from "../helpers/stored-secrets.js";
import { runCli } from "../helpers/strongroom-up.js";

const DEPLOYMENT = "openstack";
const PLACEMENT_UNITS = ["placement/placement-0", "placement/placement-1"];
const KEYSTONE_UNITS = ["keystone/keystone-0", "keystone/keystone-1"];
const STEPS = ["planned", "staged", "applied", "verified", "committed", "restarted", "retired"];

interface RotationView {
  id: string;
  status: string;
  step: string;
  toVersion?: number;
  restarted: string[];
  fetched?: Record<string, string>;
  error?: { step: string; message: string };
  rolledBack?: string;
}

describeWithOpenStack("zero-downtime rotation on real Keystone and Placement", () => {
  let os: OpenStackDeployment;
  /** The load's user: not one strongroom rotates. */
  let demo: PasswordAuth;

  beforeAll(async () => {
    os = await startOpenStack();
    demo = { user: "demo", password: randomBytes(16).toString("hex"), project: "demo" };
    const admin = identityAdmin(os.keystoneUrl, await tokenOf(os.keystoneUrl, os.adminAuth));
    const project = await admin.createProject("demo");
    const user = await admin.createUser("demo", demo.password);
    // Placement's default policy lets only admins list resource providers.
    await admin.grantProjectRole(project, user, await admin.roleId("admin"));
    await tokenOf(os.keystoneUrl, demo);
  }, 300_000);

  afterAll(async () => {
    await os?.stop();
  }, 120_000);

  const stored = (name: string) => storedSecret(os.stateDir, DEPLOYMENT, name);

  const rotate = async (args: string[]) => {
    const result = await runCli(os.stateDir, ["rotate", ...args, "--json"]);
    const views = result.stdout
      ? (JSON.parse(result.stdout).rotations as RotationView[])
      : ([] as RotationView[]);
    // What went wrong, for assertion messages: rotation errors never carry a value.
    const why = os.redact(
      [
        result.stderr.trim(),
        ...views.map((v) => v.error && `${v.error.step}: ${v.error.message}`),
        ...views.map((v) => v.rolledBack && `rolled back: ${v.rolledBack}`),
      ]
        .filter(Boolean)
        .join(" | "),
    );
    return { ...result, why, views };
  };

  /** Runs `work` under client load; the load's report comes back with its result. */
  const underLoad = async <T>(work: () => Promise<T>): Promise<[T, LoadReport]> => {
    const load = startApiLoad(os, demo);
    try {
      await waitFor(async () => load.requests >= 10, { timeoutMs: 30_000, what: "some load" });
      const result = await work();
      // A little after the end too: the last process put back serves.
      const settled = load.requests + 10;
      await waitFor(async () => load.requests >= settled, { timeoutMs: 30_000, what: "load" });
      return [result, await load.stop()];
    } catch (error) {
      await load.stop();
      throw error;
    }
  };

  const keystoneAccepts = async (user: string, password: string, project = "service") =>
    (await issueToken(os.keystoneUrl, { user, password, project })).status === 201;

  /** Placement's options as strongroom serves them now, as digests and the user name. */
  const servedPlacementUser = async () => {
    const rendered = await runCli(os.stateDir, ["render", "placement", "--format", "json"]);
    expect(rendered.code, os.redact(rendered.stderr)).toBe(0);
    const auth = (
      JSON.parse(rendered.stdout) as {
        groups: Record<string, Record<string, { value: string }>>;
      }
    ).groups["keystone_authtoken"]!;
    return { username: auth["username"]!.value, password: digestOf(auth["password"]!.value) };
  };

  /** Every restarted unit fetched its config with `version`, in the rotation's own record. */
  const expectFetched = (view: RotationView, units: string[], version: number) => {
    expect(Object.keys(view.fetched ?? {}).sort()).toEqual(units);
    for (const unit of units) {
      expect(view.fetched![unit], unit).toMatch(
        new RegExp(`^ini with version ${version} fetched by `),
      );
    }
  };

  /** The worker pids of an API process, from its uWSGI stats socket. */
  const uwsgiWorkers = async (name: string) => {
    const stats = await new Promise<string>((resolve, reject) => {
      let text = "";
      createConnection(uwsgiControl(os.process(name).dir).stats)
        .on("data", (chunk) => {
          text += chunk.toString();
        })
        .on("end", () => resolve(text))
        .on("error", reject);
    });
    return (JSON.parse(stats) as { workers: Array<{ pid: number }> }).workers.map((w) => w.pid);
  };

  const allUp = async () =>
    (await os.haproxy.stats()).map((s) => `${s.backend}/${s.server} ${s.status}`).sort();
  const ALL_UP = [
    "keystone/keystone-0 UP",
    "keystone/keystone-1 UP",
    "placement/placement-0 UP",
    "placement/placement-1 UP",
  ];

  it("rotates PlacementPassword (MariaDB accounts, alternating Keystone users) with 0 failed requests; the old credentials are refused", async () => {
    const before = await stored("PlacementPassword");
    const beforeUser = (await servedPlacementUser()).username;
    const [rotated, load] = await underLoad(() => rotate(["PlacementPassword", "--yes"]));
    expect(rotated.code, rotated.why).toBe(0);
    const view = rotated.views[0]!;
    expect(view).toMatchObject({ status: "done", toVersion: before.version + 1 });
    expect(view.restarted).toEqual(PLACEMENT_UNITS);
    expectFetched(view, PLACEMENT_UNITS, before.version + 1);
    expect(load.failed).toEqual([]);
    expect(load.listings).toBeGreaterThan(20);

    const after = await stored("PlacementPassword");
    expect(after.version).toBe(before.version + 1);
    const served = await servedPlacementUser();
    expect(served.username).not.toBe(beforeUser);
    expect([beforeUser, served.username].sort()).toEqual(["placement", "placement_b"]);
    expect(served.password).toBe(digestOf(after.value));
    // Keystone: the new user takes the new value; the previous user is refused (disabled).
    expect(await keystoneAccepts(served.username!, after.value)).toBe(true);
    expect(await keystoneAccepts(beforeUser!, before.value)).toBe(false);
    // MariaDB: the new value only.
    expect(await os.db.canLogin("placement", after.value)).toBe(true);
    expect(await os.db.canLogin("placement", before.value)).toBe(false);
    expect(await allUp()).toEqual(ALL_UP);
  }, 240_000);

  it("rotates KeystonePassword (MariaDB) with 0 failed requests; every Keystone process moved; the old password is refused", async () => {
    const before = await stored("KeystonePassword");
    const [rotated, load] = await underLoad(() => rotate(["KeystonePassword", "--yes"]));
    expect(rotated.code, rotated.why).toBe(0);
    const view = rotated.views[0]!;
    expect(view).toMatchObject({ status: "done", toVersion: before.version + 1 });
    expect(view.restarted).toEqual(KEYSTONE_UNITS);
    expectFetched(view, KEYSTONE_UNITS, before.version + 1);
    expect(load.failed).toEqual([]);

    const after = await stored("KeystonePassword");
    expect(await os.db.canLogin("keystone", after.value)).toBe(true);
    expect(await os.db.canLogin("keystone", before.value)).toBe(false);
    // Each process, straight: it works on MariaDB with the new password.
    for (const keystone of os.keystone) {
      expect((await issueToken(keystone.url, demo)).status, keystone.name).toBe(201);
    }
    expect(await allUp()).toEqual(ALL_UP);
  }, 240_000);

  it("rotates AdminPassword (Keystone, single: strongroom's own admin credential) with 0 failed requests and keeps administering Keystone", async () => {
    const before = await stored("AdminPassword");
    const [rotated, load] = await underLoad(() => rotate(["AdminPassword", "--yes"]));
    expect(rotated.code, rotated.why).toBe(0);
    expect(rotated.views[0]).toMatchObject({ status: "done", restarted: [] });
    expect(load.failed).toEqual([]);
    const after = await stored("AdminPassword");
    expect(after.version).toBe(before.version + 1);
    expect(await keystoneAccepts("admin", after.value, "admin")).toBe(true);
    expect(await keystoneAccepts("admin", before.value, "admin")).toBe(false);
    // strongroom still administers Keystone with it: the next PlacementPassword plan reads
    // the users' state through the admin credential.
    const plan = await runCli(os.stateDir, ["rotate", "PlacementPassword", "--plan"]);
    expect(plan.code, os.redact(plan.stderr)).toBe(0);
  }, 240_000);

  it.each(STEPS)(
    "killed after persisting %s during a PlacementPassword rotation: nobody is locked out, 0 failed requests, --resume completes",
    async (step) => {
      const before = await stored("PlacementPassword");
      const beforeUser = (await servedPlacementUser()).username!;
      const [resumed, load] = await underLoad(async () => {
        const broker = await os.restartBroker({ crashAt: step });
        await runCli(os.stateDir, ["rotate", "PlacementPassword", "--yes", "--no-wait", "--json"]);
        await waitFor(
          async () => broker.child.exitCode !== null || broker.child.signalCode !== null,
          { timeoutMs: 120_000, what: `the broker to die after ${step}` },
        );
        await os.restartBroker();
        const listed = JSON.parse((await runCli(os.stateDir, ["rotations", "--json"])).stdout) as {
          rotations: Array<RotationView & { secret: string }>;
        };
        const open = listed.rotations.filter(
          (r) => r.secret === "PlacementPassword" && r.status === "interrupted",
        );
        expect(open).toHaveLength(1);
        expect(open[0]).toMatchObject({ step });
        // No lock-out: the user Placement is served logs in with the value it is served.
        const served = await servedPlacementUser();
        const latest = await stored("PlacementPassword");
        const value = [latest, before].find((v) => digestOf(v.value) === served.password);
        expect(value, "the served value is one the store holds").toBeDefined();
        expect(await keystoneAccepts(served.username!, value!.value)).toBe(true);
        expect(await os.db.canLogin("placement", value!.value)).toBe(true);
        return rotate(["--resume", open[0]!.id]);
      });
      expect(resumed.code, resumed.why).toBe(0);
      expect(resumed.views[0]).toMatchObject({ status: "done", toVersion: before.version + 1 });
      expect(load.failed).toEqual([]);

      const after = await stored("PlacementPassword");
      expect(after.version).toBe(before.version + 1);
      const served = await servedPlacementUser();
      expect(served.username).not.toBe(beforeUser);
      expect(served.password).toBe(digestOf(after.value));
      expect(await keystoneAccepts(served.username!, after.value)).toBe(true);
      expect(await keystoneAccepts(beforeUser, before.value)).toBe(false);
      expect(await os.db.canLogin("placement", before.value)).toBe(false);
      expect(await allUp()).toEqual(ALL_UP);
    },
    300_000,
  );

  it("a Placement process that cannot reach the broker when it restarts stops the rotation there; nothing is retired; --resume completes after the fix", async () => {
    const before = await stored("PlacementPassword");
    const beforeUser = (await servedPlacementUser()).username!;
    // placement-1's config source points at a port nothing listens on: from its node, the
    // broker is down.
    const conf = os.placementNodes[1]!.configFile;
    const original = readFileSync(conf, "utf8");
    const deadBroker = `https://127.0.0.1:${await freePort()}/`;
    writeFileSync(
      conf,
      original.replace(/(\nuri = "?)https:\/\/127\.0\.0\.1:\d+\//, `$1${deadBroker}`),
    );
    expect(readFileSync(conf, "utf8")).not.toBe(original);

    const [failed, load] = await underLoad(() => rotate(["PlacementPassword", "--yes"]));
    expect(failed.code).not.toBe(0);
    const view = failed.views[0]!;
    expect(view.status).toBe("failed");
    expect(view.restarted).toEqual(["placement/placement-0"]);
    // Placement cannot start without its options: with `need-app`, uWSGI gives up.
    expect(view.error?.message).toMatch(
      /^placement\/placement-1: restart of placement: `.*uwsgi-reload .*` exited with code 1: uwsgi-reload: the uWSGI master exited/,
    );
    expect(load.failed).toEqual([]);
    // Nothing retired: the previous Keystone user and the old database password still work
    // (placement-1 still runs its old worker's config, or nothing: it is out of HAProxy).
    expect(await keystoneAccepts(beforeUser, before.value)).toBe(true);
    expect(await os.db.canLogin("placement", before.value)).toBe(true);
    const placement1 = (await os.haproxy.stats()).find((s) => s.server === "placement-1")!;
    expect(placement1.status).not.toMatch(/^UP/);

    writeFileSync(conf, original);
    await os.respawn("placement-1");
    const [resumed, resumedLoad] = await underLoad(() => rotate(["--resume", view.id]));
    expect(resumed.code, resumed.why).toBe(0);
    expect(resumed.views[0]).toMatchObject({ status: "done", toVersion: before.version + 1 });
    expect(resumedLoad.failed).toEqual([]);
    const after = await stored("PlacementPassword");
    expect(await keystoneAccepts(beforeUser, before.value)).toBe(false);
    expect(await os.db.canLogin("placement", before.value)).toBe(false);
    expect(await os.db.canLogin("placement", after.value)).toBe(true);
    expect(await allUp()).toEqual(ALL_UP);
  }, 300_000);
  it("Keystone nodes that cannot reach the broker: the restart stops before reloading (the key files cannot be refreshed), the old worker keeps its config, nothing is retired", async () => {
    const before = await stored("KeystonePassword");
    const workerBefore = await uwsgiWorkers("keystone-0");
    // Both Keystone processes read the kit's sources file; keystone-0 restarts first.
    const sources = join(os.kits.keystone, "oslo-sources.conf");
    const original = readFileSync(sources, "utf8");
    const deadBroker = `https://127.0.0.1:${await freePort()}/`;
    writeFileSync(
      sources,
      original.replace(/(\nuri = "?)https:\/\/127\.0\.0\.1:\d+\//, `$1${deadBroker}`),
    );
    expect(readFileSync(sources, "utf8")).not.toBe(original);

    const [failed, load] = await underLoad(() => rotate(["KeystonePassword", "--yes"]));
    writeFileSync(sources, original);
    expect(failed.code).not.toBe(0);
    const view = failed.views[0]!;
    expect(view.status).toBe("failed");
    expect(view.restarted).toEqual([]);
    expect(view.error?.message).toMatch(
      /^keystone\/keystone-0: restart of keystone: `uwsgi-reload .*` exited with code 1: uwsgi-reload: \S*node exited with code 1; nothing reloaded; not restarted: keystone\/keystone-1$/,
    );
    expect(await uwsgiWorkers("keystone-0")).toEqual(workerBefore);
    expect(load.failed).toEqual([]);
    expect(await os.db.canLogin("keystone", before.value)).toBe(true);
    // Left drained: it serves no client until the rotation is resumed.
    expect((await os.haproxy.server("keystone", "keystone-0")).status).toBe("DRAIN");

    const [resumed, resumedLoad] = await underLoad(() => rotate(["--resume", view.id]));
    expect(resumed.code, resumed.why).toBe(0);
    expect(resumed.views[0]).toMatchObject({ status: "done", toVersion: before.version + 1 });
    expectFetched(resumed.views[0]!, KEYSTONE_UNITS, before.version + 1);
    expect(resumedLoad.failed).toEqual([]);
    expect(await uwsgiWorkers("keystone-0")).not.toEqual(workerBefore);
    expect(await os.db.canLogin("keystone", before.value)).toBe(false);
    expect(await allUp()).toEqual(ALL_UP);
  }, 300_000);
});

/**
 * Rotation end to end, with real components only: a private MariaDB and a private RabbitMQ
 * (Debian's binaries, temporary dirs, loopback), `strongroom up` as a child process, and two
 * consumer processes (test/fixtures/rotation/consumer.py) that load their options with Debian's
 * oslo.config through their service kit (remote_file over mTLS) and log in to MariaDB (PyMySQL)
 * and RabbitMQ (py-amqp) over and over, counting failures. The `command` restarter restarts them
 * through consumer_ctl.py; the http health check asks them whether their logins work.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type MariaDbServer, startMariaDb } from "../helpers/mariadb-server.js";
import { freePort, waitFor } from "../helpers/ports.js";
import { DEBIAN_PYTHON, describeWithPython, REPO_ROOT } from "../helpers/python.js";
import { type RabbitMqServer, startRabbitMq } from "../helpers/rabbitmq-server.js";
import { describeWithServers } from "../helpers/servers.js";
import { storedSecret as readSecret, vaultRead as readStored } from "../helpers/stored-secrets.js";
import { CRASHING_UP, runCli, startUp, type UpHandle } from "../helpers/strongroom-up.js";

const FIXTURES = join(REPO_ROOT, "test", "fixtures", "rotation");
const CONSUMERS = ["nova-api", "nova-conductor"] as const;
const password = () => randomBytes(12).toString("hex");
const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

interface Status {
  pid: number;
  final: boolean;
  mysql_ok: number;
  mysql_fail: number;
  amqp_ok: number;
  amqp_fail: number;
  database_digest: string | null;
  transport_digest: string | null;
}

describeWithServers(["mariadb", "rabbitmq"], "rotation end to end", () => {
  describeWithPython(["oslo_config", "pymysql", "amqp"], "with real consumers", () => {
    let db: MariaDbServer;
    let mq: RabbitMqServer;
    let up: UpHandle | undefined;
    const root = mkdtempSync(join(tmpdir(), "strongroom-rotation-"));
    const stateDir = join(root, "state");
    const runDir = join(root, "run");
    const initial = {
      NovaPassword: password(),
      RpcPassword: password(),
      NotifyPassword: password(),
      CrashDbPassword: password(),
      CrashMqPassword: password(),
    };
    const healthPorts = new Map<string, number>();

    const ctl = (action: string, service: string) =>
      new Promise<void>((resolve, reject) => {
        execFile(
          DEBIAN_PYTHON,
          [join(FIXTURES, "consumer_ctl.py"), action, runDir, service],
          (error) => (error ? reject(error) : resolve()),
        );
      });

    const statuses = (service: string): Status[] => {
      const dir = join(runDir, service, "status");
      return readdirSync(dir)
        .filter((f) => f.endsWith(".json"))
        .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Status);
    };
    const currentPid = (service: string) =>
      Number(readFileSync(join(runDir, service, "pid"), "utf8"));
    const failures = () =>
      CONSUMERS.flatMap(statuses).reduce(
        (sum, s) => ({ mysql: sum.mysql + s.mysql_fail, amqp: sum.amqp + s.amqp_fail }),
        { mysql: 0, amqp: 0 },
      );
    const logins = () =>
      CONSUMERS.flatMap(statuses).reduce((sum, s) => sum + s.mysql_ok + s.amqp_ok, 0);

    /** The value a service is served for an option, read as the operator. */
    const served = async (service: string, group: string, option: string) => {
      const result = await runCli(stateDir, ["get", service, group, option]);
      expect(result.code, result.stderr).toBe(0);
      return result.stdout.replace(/\n$/, "");
    };

    const vaultRead = (path: string, version?: number) =>
      readStored(stateDir, "e2e", path, version);
    const storedSecret = (name: string, version?: number) =>
      readSecret(stateDir, "e2e", name, version);

    const rotate = async (args: string[]) => {
      const result = await runCli(stateDir, ["rotate", ...args, "--json"]);
      const views = result.stdout
        ? (JSON.parse(result.stdout).rotations as Array<Record<string, unknown>>)
        : [];
      return { ...result, views };
    };

    const startConsumer = async (service: string) => {
      const dir = join(runDir, service);
      mkdirSync(join(dir, "status"), { recursive: true });
      const kit = join(dir, "kit");
      const made = await runCli(stateDir, ["service-kit", service, "--out", kit]);
      expect(made.code, made.stderr).toBe(0);
      writeFileSync(
        join(dir, "args.json"),
        JSON.stringify({
          argv: [
            DEBIAN_PYTHON,
            "-s",
            join(FIXTURES, "consumer.py"),
            "--config-file",
            join(kit, "oslo-sources.conf"),
          ],
          env: {
            PATH: "/usr/bin:/bin",
            HOME: "/nonexistent",
            CONSUMER_STATUS_DIR: join(dir, "status"),
            CONSUMER_HEALTH_PORT: String(healthPorts.get(service)),
          },
        }),
      );
      await ctl("start", service);
      await waitFor(async () => statuses(service).some((s) => s.mysql_ok > 0 && s.amqp_ok > 0), {
        timeoutMs: 30_000,
        what: `${service} logging in`,
      });
    };

    const manifest = () => `
deployment: { name: e2e }
targets:
  db: { kind: mariadb, host: 127.0.0.1, port: ${db.port}, admin_user: root, admin_secret: MysqlRootPassword }
  mq:
    kind: rabbitmq
    host: 127.0.0.1
    port: ${mq.port}
    admin_secret: RpcPassword
    node: "${mq.node}"
    rabbitmqctl: ${JSON.stringify(mq.rabbitmqctl)}
secrets:
  MysqlRootPassword:
    target: { kind: mariadb, server: db, accounts: [root@localhost, root@127.0.0.1, "root@::1", "root@%"] }
  NovaPassword:
    target: { kind: mariadb, server: db, accounts: [nova@localhost, nova@%] }
  RpcPassword:
    target: { kind: rabbitmq, server: mq, user: rpc_single }
  NotifyPassword:
    generator: { kind: alphanumeric, length: 24 }
    target: { kind: rabbitmq, server: mq, mode: alternating, users: [notify_a, notify_b] }
  CrashDbPassword:
    generator: { kind: alphanumeric, length: 24 }
    target: { kind: mariadb, server: db, accounts: [crash@localhost, crash@%] }
  CrashMqPassword:
    generator: { kind: alphanumeric, length: 24 }
    target: { kind: rabbitmq, server: mq, user: crash_mq }
services:
${CONSUMERS.map(
  (service) => `  ${service}:
    options:
      database:
        connection: "mysql+pymysql://nova:{{ secret.NovaPassword | urlencode }}@127.0.0.1:${db.port}/nova"
      DEFAULT:
        transport_url: "rabbit://{{ user.NotifyPassword }}:{{ secret.NotifyPassword | urlencode }}@127.0.0.1:${mq.port}/"
    restart: { kind: command, command: [${DEBIAN_PYTHON}, ${join(FIXTURES, "consumer_ctl.py")}, restart, ${runDir}, "{service}"] }
    health:
      kind: http
      url: http://127.0.0.1:${healthPorts.get(service)}/healthz
      retries: 60
      interval_seconds: 0.25
      timeout_seconds: 2
    rolling: { max_parallel: 1, timeout_seconds: 60 }`,
).join("\n")}
`;

    const startBroker = async (crashAfter?: string) => {
      up = await startUp(stateDir, [], {
        manifest: join(root, "manifest.yaml"),
        listen: null,
        ...(crashAfter && { env: { STRONGROOM_CRASH_AT: crashAfter }, entry: CRASHING_UP }),
      });
    };

    beforeAll(async () => {
      [db, mq] = await Promise.all([startMariaDb(), startRabbitMq()]);
      for (const service of CONSUMERS) healthPorts.set(service, await freePort());
      await db.sql("CREATE DATABASE nova");
      for (const host of ["localhost", "%"]) {
        await db.sql("CREATE USER ?@? IDENTIFIED BY ?", ["nova", host, initial.NovaPassword]);
        await db.sql("GRANT ALL ON nova.* TO ?@?", ["nova", host]);
        await db.sql("CREATE USER ?@? IDENTIFIED BY ?", ["crash", host, initial.CrashDbPassword]);
      }
      for (const [user, pw] of [
        ["rpc_single", initial.RpcPassword],
        ["notify_a", initial.NotifyPassword],
        ["crash_mq", initial.CrashMqPassword],
      ] as const) {
        expect((await mq.ctl(["add_user", user], pw)).code).toBe(0);
        expect((await mq.ctl(["set_permissions", "-p", "/", user, ".*", ".*", ".*"])).code).toBe(0);
      }
      writeFileSync(join(root, "manifest.yaml"), manifest());
      writeFileSync(
        join(root, "seed.json"),
        JSON.stringify({ ...initial, MysqlRootPassword: db.rootPassword }),
      );
      up = await startUp(stateDir, ["--seed", join(root, "seed.json")], {
        manifest: join(root, "manifest.yaml"),
        listen: "127.0.0.1:0",
      });
      for (const service of CONSUMERS) await startConsumer(service);
    }, 240_000);

    afterAll(async () => {
      for (const service of CONSUMERS) await ctl("stop", service).catch(() => {});
      await up?.stop();
      await Promise.all([db?.stop(), mq?.stop()]);
      rmSync(root, { recursive: true, force: true });
    }, 120_000);

    it("--plan names the accounts, the consumers in order and the overlap, and changes nothing", async () => {
      const result = await runCli(stateDir, ["rotate", "NovaPassword", "--plan"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain("target mariadb (dual): nova@localhost, nova@%");
      expect(result.stdout).toMatch(
        /restart 1\. nova-api: command.*\n.*restart 2\. nova-conductor/,
      );
      expect(result.stdout).toMatch(/overlap: no gap/);
      expect((await storedSecret("NovaPassword")).version).toBe(1);
      // Not on a terminal and no --yes: refused, nothing started.
      const refused = await runCli(stateDir, ["rotate", "NovaPassword"]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/add --yes/);
      const list = await runCli(stateDir, ["rotations", "--json"]);
      expect(JSON.parse(list.stdout).rotations).toEqual([]);
    });

    it("rotates NovaPassword under load: 0 failed logins, the old password refused, the new one served to every consumer", async () => {
      const before = logins();
      const pids = CONSUMERS.map(currentPid);
      const { code, stderr, views } = await rotate(["NovaPassword", "--yes"]);
      expect(code, stderr).toBe(0);
      expect(views[0]).toMatchObject({
        status: "done",
        fromVersion: 1,
        toVersion: 2,
        restarted: [...CONSUMERS],
      });
      // Progress on stderr without a terminal, one JSON line per step and consumer.
      const progress = stderr
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as { progress: Record<string, string> }).progress);
      expect(progress.every((p) => p["rotation"] === views[0]!["id"])).toBe(true);
      expect(progress.filter((p) => p["step"]).map((p) => p["step"])).toEqual(
        expect.arrayContaining(["staged", "applied", "verified", "committed", "retired", "done"]),
      );
      expect(progress.flatMap((p) => (p["restarted"] ? [p["restarted"]] : []))).toEqual([
        ...CONSUMERS,
      ]);
      await sleep(500);
      expect(logins()).toBeGreaterThan(before);
      expect(failures().mysql).toBe(0);
      expect(await db.canLogin("nova", initial.NovaPassword)).toBe(false);
      const current = await storedSecret("NovaPassword");
      expect(current.version).toBe(2);
      expect(await db.canLogin("nova", current.value)).toBe(true);
      for (const [i, service] of CONSUMERS.entries()) {
        expect(currentPid(service)).not.toBe(pids[i]);
        const live = statuses(service).find((s) => s.pid === currentPid(service))!;
        expect(live.database_digest).toBe(sha256(await served(service, "database", "connection")));
        // A boolean, so a failure never prints the password.
        expect((await served(service, "database", "connection")).includes(current.value)).toBe(
          true,
        );
      }
    });

    // Each rabbitmqctl call boots an Erlang VM: apply, verify, retire and the refusal check take
    // a dozen of them.
    it("rotates RabbitMQ in alternating mode with 0 failed logins; the previous user is refused at the end", async () => {
      const { code, stderr, views } = await rotate(["NotifyPassword", "--yes"]);
      expect(code, stderr).toBe(0);
      expect(views[0]).toMatchObject({ status: "done", toVersion: 2 });
      await sleep(500);
      expect(failures().amqp).toBe(0);
      const current = await storedSecret("NotifyPassword");
      expect(await mq.canLogin("notify_b", current.value)).toBe(true);
      expect(await mq.canLogin("notify_a", initial.NotifyPassword)).toBe(false);
      for (const service of CONSUMERS) {
        const url = await served(service, "DEFAULT", "transport_url");
        expect(url.startsWith(`rabbit://notify_b:${current.value}@`)).toBe(true);
        const live = statuses(service).find((s) => s.pid === currentPid(service))!;
        expect(live.transport_digest).toBe(sha256(url));
      }
      // No password ever reached rabbitmqctl's command line.
      const argv = mq.recordedArgv().flat().join(" ");
      expect(argv.includes(current.value)).toBe(false);
      expect(argv.includes(initial.NotifyPassword)).toBe(false);
    }, 180_000);

    it("rotates RabbitMQ in single mode: the old password refused, the new one accepted", async () => {
      const { code, stderr, views } = await rotate(["RpcPassword", "--yes"]);
      expect(code, stderr).toBe(0);
      expect(views[0]).toMatchObject({ status: "done" });
      const current = await storedSecret("RpcPassword");
      expect(await mq.canLogin("rpc_single", current.value)).toBe(true);
      expect(await mq.canLogin("rpc_single", initial.RpcPassword)).toBe(false);
    });

    it("rotates MysqlRootPassword and can still administer the server afterwards", async () => {
      const { code, stderr, views } = await rotate(["MysqlRootPassword", "--yes"]);
      expect(code, stderr).toBe(0);
      expect(views[0]).toMatchObject({ status: "done" });
      const root = await storedSecret("MysqlRootPassword");
      expect(await db.canLogin("root", root.value)).toBe(true);
      expect(await db.canLogin("root", db.rootPassword)).toBe(false);
      for (const host of ["localhost", "127.0.0.1", "::1", "%"])
        expect(await db.privOf("root", host)).toBeDefined();
      // Administering needs the new root password: rotate a database account once more.
      const again = await rotate(["CrashDbPassword", "--yes"]);
      expect(again.code, again.stderr).toBe(0);
      expect(await db.canLogin("crash", (await storedSecret("CrashDbPassword")).value)).toBe(true);
    });

    it("a consumer that fails its health check stops the rollout; --resume after the fix completes", async () => {
      const before = await storedSecret("NovaPassword");
      writeFileSync(join(runDir, "nova-conductor", "broken"), "");
      const failed = await rotate(["NovaPassword", "--yes"]);
      expect(failed.code).toBe(1);
      const view = failed.views[0]!;
      expect(view).toMatchObject({ status: "failed", step: "committed", restarted: ["nova-api"] });
      expect(String((view.error as { message: string }).message)).toMatch(/nova-conductor/);
      expect(String(view.resume)).toMatch(/restart the consumers/);
      // Consistent: the new value is committed, and the account accepts both meanwhile.
      const committed = await storedSecret("NovaPassword");
      expect(committed.version).toBe(before.version + 1);
      expect(await db.canLogin("nova", committed.value)).toBe(true);
      expect(await db.canLogin("nova", before.value)).toBe(true);

      rmSync(join(runDir, "nova-conductor", "broken"));
      const resumed = await rotate(["--resume", String(view.id)]);
      expect(
        resumed.code,
        `${resumed.stderr}${resumed.stdout}${readFileSync(join(runDir, "nova-conductor", "stderr.log"), "utf8").slice(-2000)}`,
      ).toBe(0);
      expect(resumed.views[0]).toMatchObject({ status: "done", restarted: [...CONSUMERS] });
      expect(await db.canLogin("nova", before.value)).toBe(false);
      expect(await db.canLogin("nova", committed.value)).toBe(true);
      await waitFor(
        async () =>
          statuses("nova-conductor").some(
            (s) => s.pid === currentPid("nova-conductor") && s.mysql_ok > 0,
          ),
        {
          timeoutMs: 20_000,
          what: "nova-conductor back",
        },
      );
    });

    const STEPS = ["planned", "staged", "applied", "verified", "committed", "restarted", "retired"];
    const CRASH_CASES = STEPS.flatMap((step) => [
      { step, secret: "CrashDbPassword", kind: "mariadb" },
      { step, secret: "CrashMqPassword", kind: "rabbitmq" },
    ]);
    it.each(CRASH_CASES)(
      "killed after persisting $step ($kind): someone can always log in, and --resume completes",
      async ({ step, secret, kind }) => {
        const canLogin = (pw: string) =>
          kind === "mariadb" ? db.canLogin("crash", pw) : mq.canLogin("crash_mq", pw);
        const before = await storedSecret(secret);
        await up!.stop();
        await startBroker(step);
        // When the crash comes right after "planned", the answer may never arrive: the id is
        // found in the store after the restart.
        await runCli(stateDir, ["rotate", secret, "--yes", "--no-wait", "--json"]);
        await waitFor(async () => up!.child.exitCode !== null || up!.child.signalCode !== null, {
          timeoutMs: 60_000,
          what: `the broker to die after ${step}`,
        });
        await up!.stop();

        await startBroker();
        const all = JSON.parse((await runCli(stateDir, ["rotations", "--json"])).stdout) as {
          rotations: Array<{ id: string; secret: string; step: string; status: string }>;
        };
        const open = all.rotations.filter((r) => r.secret === secret && r.status === "interrupted");
        expect(open).toHaveLength(1);
        expect(open[0]).toMatchObject({ step });
        const id = open[0]!.id;
        const record = (await vaultRead(`rotations/${id}`)).data;
        const latest = await storedSecret(secret);
        const candidates = [latest.value, before.value];
        if (typeof record["pending"] === "string") candidates.push(record["pending"]);
        expect((await Promise.all(candidates.map(canLogin))).some(Boolean)).toBe(true);

        const resumed = await rotate(["--resume", id]);
        expect(resumed.code, resumed.stderr).toBe(0);
        expect(resumed.views[0], JSON.stringify(resumed.views[0])).toMatchObject({
          status: "done",
          toVersion: before.version + 1,
        });
        const after = await storedSecret(secret);
        expect(after.version).toBe(before.version + 1);
        expect(await canLogin(after.value)).toBe(true);
        expect(await canLogin(before.value)).toBe(false);
      },
      180_000,
    );

    it("killed after persisting applied, then rotate --abort: MariaDB takes the old password alone again, the store is unchanged, the secret is free", async () => {
      const secret = "CrashDbPassword";
      const before = await storedSecret(secret);
      await up!.stop();
      await startBroker("applied");
      await runCli(stateDir, ["rotate", secret, "--yes", "--no-wait", "--json"]);
      await waitFor(async () => up!.child.exitCode !== null || up!.child.signalCode !== null, {
        timeoutMs: 60_000,
        what: "the broker to die after applied",
      });
      await up!.stop();
      await startBroker();
      const all = JSON.parse((await runCli(stateDir, ["rotations", "--json"])).stdout) as {
        rotations: Array<{ id: string; secret: string; status: string }>;
      };
      const open = all.rotations.filter((r) => r.secret === secret && r.status === "interrupted");
      expect(open).toHaveLength(1);
      const id = open[0]!.id;
      const pending = (await vaultRead(`rotations/${id}`)).data["pending"] as string;
      // Applied: both passwords log in.
      expect(await db.canLogin("crash", pending)).toBe(true);
      const status = await runCli(stateDir, ["status", "--json"]);
      expect(JSON.parse(status.stdout).unfinishedRotations).toContainEqual({
        id,
        secret,
        status: "interrupted",
        step: "applied",
      });
      expect((await runCli(stateDir, ["status"])).stdout).toMatch(
        new RegExp(
          `^rotations +${secret} interrupted after applied \\(strongroom rotations ${id}\\)$`,
          "m",
        ),
      );

      const aborted = await rotate(["--abort", id]);
      expect(aborted.code, aborted.stderr).toBe(0);
      expect(aborted.views[0]).toMatchObject({ status: "rolled-back" });
      expect(await db.canLogin("crash", before.value)).toBe(true);
      expect(await db.canLogin("crash", pending)).toBe(false);
      expect((await storedSecret(secret)).version).toBe(before.version);
      const again = await rotate(["--abort", id]);
      expect(again.code).toBe(1);
      expect(JSON.parse(again.stderr).error).toMatchObject({
        code: "STRONGROOM_ERR_ROTATION_FINISHED",
        message: `rotation ${id} is already rolled-back`,
      });
      const next = await rotate([secret, "--yes"]);
      expect(next.code, next.stderr).toBe(0);
      expect(next.views[0]).toMatchObject({ status: "done", toVersion: before.version + 1 });
    }, 180_000);
  });
});

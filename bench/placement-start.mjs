// A real Placement API process (Debian's python3-placement under uwsgi, as the OpenStack harness
// runs it) from spawn to its first 200 on `GET /` (the version document: no Keystone needed),
// its config from strongroom (the kit's oslo-sources.conf appended into placement.conf:
// oslo.config's remote_file source over mTLS) against a local placement.conf holding the same
// options rendered once (`strongroom render placement`). Target: ≤ 1.2 ×, same run.
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { percentile, round, testHelper } from "./lib.mjs";

const PLACEMENT_FILES = [
  ["/usr/bin/placement-api", "python3-placement"],
  ["/usr/bin/placement-manage", "python3-placement"],
  ["/usr/bin/uwsgi-core", "uwsgi-core"],
  ["/usr/lib/uwsgi/plugins/python3_plugin.so", "uwsgi-plugin-python3"],
];

/**
 * Setup (not timed): a private MariaDB (test/helpers/mariadb-server.ts) with Placement's
 * database and accounts, `strongroom up` on examples/openstack/manifest.yaml (this run's
 * database port) seeded from its passwords file, Placement's kit, `placement-manage db sync`.
 * Then one warm-up start per side and `rounds` alternating rounds (BENCH_PLACEMENT_ROUNDS), each
 * start stopped (by process group) before the next. Everything listens on 127.0.0.1 and lives
 * in one temp dir; every process is stopped at the end, on failure too.
 */
export async function benchPlacementStart({ rounds = 5 } = {}) {
  const missing = await whatIsMissing();
  if (missing) return { skipped: missing };
  const { startMariaDb } = await testHelper("mariadb-server.ts");
  const { makeServerDir } = await testHelper("servers.ts");
  const { freePort } = await testHelper("ports.ts");
  const up = await testHelper("strongroom-up.ts");
  const os = await testHelper("openstack/deployment.ts");
  const pw = await testHelper("openstack/passwords.ts");
  const placement = await testHelper("openstack/placement.ts");

  const passwords = pw.readPasswordsFile(os.OPENSTACK_PASSWORDS);
  const redact = pw.redactor(pw.secretStrings(passwords));
  const dir = makeServerDir("strongroom-bench-placement-");
  const stops = [];
  let running;
  const setup = {};
  let stepStarted = performance.now();
  const step = (name) => {
    const now = performance.now();
    setup[name] = Math.round(now - stepStarted);
    stepStarted = now;
  };
  try {
    const db = await startMariaDb({ rootPassword: passwords.MysqlRootPassword });
    stops.push(() => db.stop());
    const manifestText = readFileSync(os.OPENSTACK_MANIFEST, "utf8");
    for (const account of os.mariadbAccounts(manifestText).get("PlacementPassword") ?? []) {
      const [user, host] = account.split("@");
      await db.sql(`CREATE DATABASE IF NOT EXISTS \`${user}\``);
      await db.sql("CREATE USER ?@? IDENTIFIED BY ?", [user, host, passwords.PlacementPassword]);
      await db.sql(`GRANT ALL ON \`${user}\`.* TO ?@?`, [user, host]);
    }
    step("mariadb");

    // Keystone is not started: `GET /` does not authenticate. Its URL only fills the options.
    const manifestFile = join(dir.path, "manifest.yaml");
    writeFileSync(
      manifestFile,
      os.deploymentManifest(manifestText, {
        dbPort: db.port,
        keystoneUrl: `http://127.0.0.1:${await freePort()}`,
        placementUrl: `http://127.0.0.1:${await freePort()}`,
      }),
    );
    const stateDir = join(dir.path, "state");
    const broker = await up.startUp(stateDir, ["--seed", os.OPENSTACK_PASSWORDS], {
      manifest: manifestFile,
      listen: "127.0.0.1:0",
    });
    stops.push(() => broker.stop());
    step("strongroom_up");
    const kit = join(dir.path, "placement-kit");
    const made = await up.runCli(stateDir, ["service-kit", "placement", "--out", kit]);
    if (made.code !== 0) throw new Error(`service-kit placement: ${made.stderr.trim()}`);
    const rendered = await up.runCli(stateDir, ["render", "placement"]);
    if (rendered.code !== 0) throw new Error(`render placement: ${rendered.stderr.trim()}`);

    // The two nodes: the harness's (local settings + the kit), and local settings + the
    // rendered options (what a node holds without strongroom: the secrets in a file).
    const fromStrongroom = placement.preparePlacementNode(join(dir.path, "strongroom"), kit);
    const localDir = join(dir.path, "local");
    mkdirSync(localDir, { recursive: true, mode: 0o700 });
    const local = { dir: localDir, configFile: join(localDir, "placement.conf") };
    writeFileSync(local.configFile, `${placement.LOCAL_PLACEMENT_CONF}\n${rendered.stdout}`, {
      mode: 0o600,
    });
    step("kit_and_render");
    await placement.placementManage(fromStrongroom, ["db", "sync"], { redact });
    step("placement_db_sync");

    const sides = [
      { name: "strongroom", node: fromStrongroom, ms: [] },
      { name: "local_file", node: local, ms: [] },
    ];
    const start = async (side, label) => {
      running = await placement.startPlacement(side.node, {
        name: `placement-${side.name}-${label}`,
        redact,
      });
      const ms = running.startupMs;
      const proc = running;
      running = undefined;
      const stopping = performance.now();
      await proc.kill();
      stopMs.push(performance.now() - stopping);
      // oslo only logs a source it could not load: a start on defaults must not count.
      if (/could not load configuration/i.test(readFileSync(proc.log, "utf8"))) {
        throw new Error(`${proc.name} did not load its config source: ${proc.logTail(5)}`);
      }
      return ms;
    };
    const stopMs = [];
    const warmup = {};
    for (const side of sides) warmup[side.name] = round(await start(side, "warmup"), 0);
    step("warmup_starts");
    for (let r = 0; r < rounds; r++) {
      for (let turn = 0; turn < sides.length; turn++) {
        const side = sides[(r + turn) % sides.length];
        side.ms.push(await start(side, String(r)));
      }
    }
    step("rounds");

    const [sr, lf] = sides;
    const median = (values) => percentile(values, 50);
    const figures = (side) => ({
      median_ms: round(median(side.ms), 0),
      min_ms: round(Math.min(...side.ms), 0),
      max_ms: round(Math.max(...side.ms), 0),
      runs_ms: side.ms.map((v) => round(v, 0)),
      warmup_ms: warmup[side.name],
    });
    return {
      method:
        `${rounds} alternating rounds (after one warm-up start per side, not counted): spawn of ` +
        "uwsgi (master + 1 worker, 4 threads, app loaded in the worker) running " +
        "/usr/bin/placement-api to the first 200 on GET / (polled every 25 ms; the socket is " +
        "bound before the app loads), then SIGKILL to its process group",
      from_strongroom: {
        config:
          "placement.conf = node-local [DEFAULT] + the kit's oslo-sources.conf (remote_file over mTLS)",
        ...figures(sr),
      },
      from_local_file: {
        config: "placement.conf = node-local [DEFAULT] + `strongroom render placement`",
        ...figures(lf),
      },
      phases_ms: setup,
      kill_ms_median: round(median(stopMs), 0),
      extra_ms_median: round(median(sr.ms.map((v, i) => v - lf.ms[i])), 0),
      ratio_strongroom_to_local_file: {
        value: round(median(sr.ms) / median(lf.ms), 3),
        per_round_median: round(median(sr.ms.map((v, i) => v / lf.ms[i])), 3),
        target: 1.2,
        target_is: "at most",
      },
    };
  } finally {
    await running?.kill().catch(() => {});
    for (const stop of stops.reverse()) await stop().catch(() => {});
    dir.remove();
  }
}

/** Why Placement cannot run here (naming the Debian packages), or undefined. */
async function whatIsMissing() {
  const why = [];
  for (const [path, pkg] of PLACEMENT_FILES) {
    try {
      accessSync(path, constants.R_OK);
    } catch {
      why.push(`missing ${path} (${pkg})`);
    }
  }
  const { requirePythonModules } = await testHelper("python.ts");
  const python = requirePythonModules(["placement", "pymysql", "oslo_config"]);
  if (!python.ok) why.push(python.reason);
  const { missingServers } = await testHelper("servers.ts");
  const db = missingServers(["mariadb"]);
  if (db) why.push(db);
  return why.length > 0 ? why.join("; ") : undefined;
}

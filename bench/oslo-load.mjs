// A whole service's config load with the real oslo.config (Debian's /usr/bin/python3 with
// python3-oslo.config and python3-castellan): nova's options through the broker (the kit's
// oslo-sources.conf: oslo's `remote_file` source over mTLS, one HTTPS request for the rendered
// INI) against the same options through oslo's `castellan` source reading each secret straight
// from Vault with the kit's AppRole (what a service does without strongroom).
// Target: remote_file through the broker ≥ 5 × faster, same run.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { cpuMicros, percentile, ROOT, round, testHelper, vaultPid } from "./lib.mjs";

const WORKER = `${ROOT}bench/oslo_load_worker.py`;
const SERVICE = "nova";
const WARMUP = 3;

/**
 * `strongroom up` on the example TripleO deployment, nova's service kit, then one long-lived
 * Python process per side (interpreter start-up and imports are not counted; the first loads of
 * each are warm-ups) timing whole loads in alternating rounds: a new ConfigOpts, every nova
 * option registered (types from the manifest, as test/compat does), the kit's config file
 * parsed, every option read. Every load of both sides must get every option, equal to what the
 * broker resolves (compared in the worker by value, across sides by digest; nothing printed).
 * `rounds` (BENCH_OSLO_ROUNDS) loads per side.
 */
export async function benchOsloLoad({ rounds = 30 } = {}) {
  const python = await testHelper("python.ts");
  const check = python.requirePythonModules(["oslo_config", "castellan"]);
  if (!check.ok) return { skipped: check.reason };
  const up = await testHelper("strongroom-up.ts");
  const { makeServerDir } = await testHelper("servers.ts");
  const { loadManifest } = await import(`${ROOT}dist/src/config/manifest.js`);

  const dir = makeServerDir("strongroom-bench-oslo-");
  const stateDir = join(dir.path, "state");
  const kit = join(dir.path, `${SERVICE}-kit`);
  let broker;
  const workers = [];
  try {
    broker = await up.startUp(stateDir, ["--seed", up.EXAMPLE_PASSWORDS]);
    const made = await up.runCli(stateDir, ["service-kit", SERVICE, "--out", kit]);
    if (made.code !== 0) throw new Error(`service-kit ${SERVICE}: ${made.stderr.trim()}`);

    // What the broker resolves for nova (the values both sides must get), and nova's options as
    // the service registers them.
    const state = up.readState(stateDir);
    const answer = await up.httpsRequest(`${state.broker.url}/v1/config/${SERVICE}`, {
      ca: readFileSync(join(stateDir, "ca.pem")),
      token: up.operatorToken(stateDir),
    });
    if (answer.status !== 200) throw new Error(`GET /v1/config/${SERVICE}: ${answer.status}`);
    const groups = JSON.parse(answer.text).groups;
    const spec = [...loadManifest(up.EXAMPLE_MANIFEST).services.get(SERVICE).options].flatMap(
      ([group, options]) =>
        [...options].map(([name, o]) => ({ group, name, type: o.type, secret: o.secret })),
    );
    const expected = {};
    for (const { group, name } of spec) {
      if (!groups[group] || !(name in groups[group])) {
        throw new Error(`the broker does not answer [${group}] ${name} for ${SERVICE}`);
      }
      expected[group] = { ...expected[group], [name]: groups[group][name].value };
    }

    // The kit as shipped (remote_file), and its copy switched to the castellan section.
    const remoteFile = join(kit, "oslo-sources.conf");
    const castellanFile = join(kit, "castellan-sources.conf");
    const text = readFileSync(remoteFile, "utf8");
    const switched = text.replace(
      /^config_source = strongroom$/m,
      "config_source = strongroom_vault",
    );
    if (switched === text || !/^\[strongroom_vault\]$/m.test(text)) {
      throw new Error("the kit's oslo-sources.conf has no strongroom_vault section to switch to");
    }
    writeFileSync(castellanFile, switched, { mode: 0o600 });

    const init = { spec, expected, warmup: WARMUP };
    const sides = [
      { name: "remote_file", source: "URIConfigurationSource", file: remoteFile },
      { name: "castellan", source: "CastellanConfigurationSource", file: castellanFile },
    ];
    for (const side of sides) {
      side.worker = startWorker(python, side.file);
      workers.push(side.worker);
      side.ready = await side.worker.ask(`${JSON.stringify(init)}\n`);
      side.loads = [];
      side.brokerUs = 0;
      side.vaultUs = 0;
    }
    const brokerPid = broker.child.pid;
    const vault = vaultPid(brokerPid);

    for (let round = 0; round < rounds; round++) {
      for (let turn = 0; turn < sides.length; turn++) {
        const side = sides[(round + turn) % sides.length];
        const brokerBefore = cpuMicros(brokerPid);
        const vaultBefore = cpuMicros(vault);
        const load = await side.worker.ask("load\n");
        side.brokerUs += cpuMicros(brokerPid) - brokerBefore;
        side.vaultUs += cpuMicros(vault) - vaultBefore;
        if (
          load.options !== spec.length ||
          load.matching !== spec.length ||
          load.digest !== side.ready.expected_digest ||
          load.sources.length !== 1 ||
          load.sources[0] !== side.source
        ) {
          throw new Error(
            `${side.name}: a load got ${load.matching} of ${spec.length} options as the broker ` +
              `resolves them (sources: ${load.sources.join(", ")}); Python's stderr ends with: ` +
              side.worker.stderrTail(),
          );
        }
        side.loads.push(load);
      }
    }
    const [remote, castellan] = sides;
    const digestsEqual = remote.loads.every((l, i) => l.digest === castellan.loads[i].digest);
    if (!digestsEqual) throw new Error("remote_file and castellan got different values");

    const median = (values) => percentile(values, 50);
    const perRound = remote.loads.map((l, i) => castellan.loads[i].ms / l.ms);
    return {
      method:
        `${rounds} alternating rounds, one load per side per round, each side in one long-lived ` +
        `/usr/bin/python3 process (interpreter start-up and imports not counted; ${WARMUP} ` +
        "warm-up loads each, not counted). A load: new ConfigOpts, register every option, parse " +
        "the kit's config file, read every option; each load opens its source afresh (new TLS " +
        "connection; castellan logs in with the AppRole, then reads one secret per option).",
      service: SERVICE,
      options: spec.length,
      remote_file: report(remote, rounds),
      castellan: report(castellan, rounds),
      ratio_castellan_to_remote_file: {
        value: round(
          median(castellan.loads.map((l) => l.ms)) / median(remote.loads.map((l) => l.ms)),
          2,
        ),
        per_round_median: round(median(perRound), 2),
        target: 5,
      },
      // Not a target: the same comparison in CPU spent by every process involved.
      ratio_castellan_to_remote_file_cpu: round(
        cpuPerLoad(castellan, rounds).all / cpuPerLoad(remote, rounds).all,
        2,
      ),
      // A load that fails any of these ends the bench with an error instead of a figure.
      checks: {
        timed_loads_checked_per_side: rounds,
        options_per_load: `${spec.length} of ${spec.length}, each located in its config source (not a default), equal to the broker's resolution`,
        values_digest_equal_across_sides_and_loads: digestsEqual,
      },
    };
  } finally {
    for (const worker of workers) await worker.stop();
    await broker?.stop();
    dir.remove();
  }
}

/** One side's figures: wall time per load, where it went, and the CPU each process spent. */
function report(side, rounds) {
  const ms = (pick) => side.loads.map(pick);
  const median = (values) => round(percentile(values, 50), 1);
  return {
    config_source: side.source,
    per_load_ms: {
      median: median(ms((l) => l.ms)),
      p90: round(
        percentile(
          ms((l) => l.ms),
          90,
        ),
        1,
      ),
      min: round(Math.min(...ms((l) => l.ms)), 1),
      max: round(Math.max(...ms((l) => l.ms)), 1),
    },
    // remote_file fetches in conf(...) (open); castellan logs in and reads when options are read.
    open_ms_median: median(ms((l) => l.open_ms)),
    read_options_ms_median: median(ms((l) => l.read_ms)),
    // CPU per load, means over all loads (the broker's and Vault's /proc counters tick every
    // 10 ms: no per-load figure): less sensitive than wall time to what else the machine runs.
    cpu_ms_per_load: cpuPerLoad(side, rounds),
    warmup_loads_ms: side.ready.warmup_ms.map((v) => round(v, 1)),
  };
}

/** Mean CPU per load of the Python client, the broker and the Vault, and their sum. */
function cpuPerLoad(side, rounds) {
  const python = side.loads.reduce((sum, l) => sum + l.cpu_ms, 0) / side.loads.length;
  const broker = side.brokerUs / 1000 / rounds;
  const vault = side.vaultUs / 1000 / rounds;
  return {
    python_client: round(python, 1),
    broker: round(broker, 1),
    vault: round(vault, 1),
    all: round(python + broker + vault, 1),
  };
}

/** bench/oslo_load_worker.py on CONFIG_FILE: `ask` writes a line and resolves its JSON answer. */
function startWorker(python, configFile) {
  const child = spawn(python.DEBIAN_PYTHON, [WORKER, configFile], {
    cwd: ROOT,
    env: python.basePythonEnv(),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  child.stdin.on("error", () => {});
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const stderrTail = () => stderr.trim().split("\n").slice(-5).join(" | ");
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    stderrTail,
    async ask(line) {
      child.stdin.write(line);
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("no answer in 60 s")), 60_000);
      });
      try {
        const { value, done } = await Promise.race([lines.next(), timeout]);
        if (done) throw new Error("exited");
        return JSON.parse(value);
      } catch (error) {
        throw new Error(`oslo_load_worker.py ${configFile}: ${error.message}; ${stderrTail()}`);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.end("quit\n");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cpuMicros,
  freePort,
  percentile,
  ROOT,
  round,
  startProcess,
  testHelper,
  waitForHttp,
} from "./lib.mjs";

/**
 * Restart storm: `services` distinct service identities (one mTLS client certificate each, from
 * bootstrap) each fetch their rendered oslo.config INI (GET /v1/config/<service>.conf) on a NEW
 * TLS connection (full handshake, no session reuse), `concurrency` at a time, as a fleet
 * restarting at once would. Against 1 `serve` replica and against 3 (the client spreads
 * connections round-robin, as a Kubernetes Service or DNS would; one Vault behind them), next
 * to a bare fastify HTTPS route with the same TLS settings on new connections, in the same run.
 * Target: fetches/s ≥ 0.8 × the bare route's.
 */
export async function benchRestartStorm({ services = 2000, concurrency = 50, rounds = 3 } = {}) {
  const { startTlsVault, bootstrap, startServe, serveArgs } = await testHelper("serve-replicas.ts");
  const dir = mkdtempSync(join(tmpdir(), "strongroom-bench-storm-"));
  const names = Array.from({ length: services }, (_, i) => `svc${String(i).padStart(4, "0")}`);
  const manifest = join(dir, "manifest.yaml");
  writeFileSync(
    manifest,
    [
      "deployment:",
      "  name: storm",
      "secrets:",
      "  StormPassword: {}",
      "services:",
      ...names.map(
        (name) =>
          `  ${name}:\n    options:\n      DEFAULT:\n        password: "{{ secret.StormPassword }}"\n        region: { type: string, default: RegionOne }`,
      ),
      "",
    ].join("\n"),
  );
  const started = [];
  let vault;
  let bare;
  try {
    vault = await startTlsVault(dir);
    const out = join(dir, "out");
    const t0 = performance.now();
    // One-shot, per service: a policy, an AppRole, an mTLS identity, rendered records.
    await bootstrap(vault, manifest, out, 30 * 60_000);
    const bootstrapSeconds = (performance.now() - t0) / 1000;
    const ca = readFileSync(join(out, "ca.pem"));
    const token = readFileSync(join(out, "operator-token"), "utf8").trim();
    const identities = names.map((name) => ({
      name,
      cert: readFileSync(join(out, "identities", `${name}.pem`)),
      key: readFileSync(join(out, "identities", `${name}.key`)),
    }));

    const replicas = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      // One client address sends every fetch here: lift the read limit so it is never hit.
      const args = serveArgs(vault, manifest, out, `127.0.0.1:${port}`);
      replicas.push(await startServe([...args, "--read-limit", "0"]));
      started.push(replicas[i]);
    }
    await fetchOnce(`${replicas[0].url}/v1/secrets/StormPassword`, {
      ca,
      method: "PUT",
      token,
      body: JSON.stringify({ value: "storm-password-0001" }),
    });

    const barePort = await freePort();
    bare = startProcess([
      `${ROOT}bench/storm-bare-server.mjs`,
      String(barePort),
      join(out, "server.pem"),
      join(out, "server.key"),
      join(out, "ca.pem"),
    ]);
    const bareUrl = `https://127.0.0.1:${barePort}`;
    await waitForHttp(`${bareUrl}/v1/config/x.conf`).catch(() => {});

    const storm = (targets) =>
      runStorm({
        urls: targets.map((t) => t.url),
        pids: targets.map((t) => t.child.pid),
        identities,
        ca,
        concurrency,
      });
    // Warm-up: each replica resolves and caches every service once (a running fleet's state).
    await storm(replicas);
    const result = { one_replica: [], three_replicas: [], bare_fastify: [] };
    const bareTarget = { url: bareUrl, child: bare.child };
    for (let round = 0; round < rounds; round++) {
      result.bare_fastify.push(await storm([bareTarget]));
      result.one_replica.push(await storm([replicas[0]]));
      result.three_replicas.push(await storm(replicas));
    }
    const best = (runs) => runs.reduce((a, b) => (b.fetches_per_s > a.fetches_per_s ? b : a));
    const summary = {
      services,
      concurrency,
      rounds,
      bootstrap_seconds: round(bootstrapSeconds),
      bare_fastify: best(result.bare_fastify),
      one_replica: best(result.one_replica),
      three_replicas: best(result.three_replicas),
    };
    summary.ratio_one_replica = round(
      summary.one_replica.fetches_per_s / summary.bare_fastify.fetches_per_s,
      2,
    );
    summary.ratio_three_replicas = round(
      summary.three_replicas.fetches_per_s / summary.bare_fastify.fetches_per_s,
      2,
    );
    // CPU per fetch moves far less than fetches/s with the machine's load.
    summary.server_cpu_ratio_one_replica = round(
      summary.bare_fastify.server_cpu_us_per_fetch / summary.one_replica.server_cpu_us_per_fetch,
      2,
    );
    summary.target = "ratio ≥ 0.8 (fetches/s vs the bare route, new mTLS connection each)";
    summary.note =
      "one machine (all replicas, the Vault and the client share its cores): 3 replicas add no CPU here";
    return summary;
  } finally {
    for (const replica of started) await replica.stop().catch(() => {});
    await bare?.stop();
    await vault?.server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Every identity fetches its INI once, on a new connection, `concurrency` in flight. CPU per
 * fetch: the servers' processes (`pids`), and this one (the TLS clients, and the embedded Vault).
 */
async function runStorm({ urls, pids, identities, ca, concurrency }) {
  const serverCpu = () => pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
  const serverBefore = serverCpu();
  const clientBefore = process.cpuUsage();
  const latencies = [];
  const failures = {};
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < identities.length) {
        const i = next++;
        const { name, cert, key } = identities[i];
        const url = `${urls[i % urls.length]}/v1/config/${name}.conf`;
        const t = performance.now();
        const status = await fetchOnce(url, { ca, cert, key }).catch(
          (error) => error.code ?? "error",
        );
        latencies.push(performance.now() - t);
        if (status !== 200) failures[status] = (failures[status] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const client = process.cpuUsage(clientBefore);
  const perFetch = (us) => Math.round(us / identities.length);
  return {
    fetches: identities.length,
    failed: failures,
    fetches_per_s: round(identities.length / seconds),
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    server_cpu_us_per_fetch: perFetch(serverCpu() - serverBefore),
    client_cpu_us_per_fetch: perFetch(client.user + client.system),
  };
}

/** One request on its own TLS connection (no agent: no keep-alive, no session reuse). */
function fetchOnce(url, { ca, cert, key, token, method = "GET", body }) {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        ca,
        cert,
        key,
        headers: {
          ...(token && { authorization: `Bearer ${token}` }),
          ...(body && { "content-type": "application/json" }),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

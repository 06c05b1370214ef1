import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, load, ROOT, startProcess } from "./lib.mjs";
import { selfSignedCertificate } from "./self-signed-cert.mjs";

const TOKEN = "bench-operator-token";
const PATH = "/v1/config/nova/database/connection";
const ROUNDS = 7;

/**
 * Cached-lookup throughput of the broker app (token auth, rate limit, security headers,
 * metrics, schema validation and serialization; a constant in-memory BrokerService) next to a
 * bare fastify route answering the same JSON. Each runs in its own process over HTTPS with
 * the same certificate and TLS settings, loaded by the same autocannon client. The servers
 * take turns, round after round (in rotating order), and the ratio is the median of the
 * per-round ratios, so a burst of load from elsewhere on the machine does not decide it. The broker runs twice:
 * request logging off, and on (pino to a discarded stdout).
 */
export async function benchBrokerLookup({ duration = 5 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "strongroom-bench-lookup-"));
  const servers = [];
  try {
    const { cert, key } = await selfSignedCertificate();
    writeFileSync(join(dir, "cert.pem"), cert);
    writeFileSync(join(dir, "key.pem"), key, { mode: 0o600 });

    for (const [mode, logging] of SIDES) servers.push(await startServer(mode, dir, logging));
    const headers = { authorization: `Bearer ${TOKEN}` };
    for (const server of servers) await load({ url: server.url, headers, duration: 1 }); // warm-up

    const roundSeconds = Math.max(1, Math.round(duration / 5));
    const rounds = servers.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate who goes first: the first slot of a round measured consistently slower here.
      for (let turn = 0; turn < servers.length; turn++) {
        const i = (round + turn) % servers.length;
        const server = servers[i];
        const result = await load({ url: server.url, headers, duration: roundSeconds });
        if (result.failed > 0) throw new Error(`${server.name}: ${result.failed} failed requests`);
        rounds[i].push(result);
      }
    }
    const [bare, quiet, logging] = rounds;
    return {
      method: `${ROUNDS} alternating rounds of ${roundSeconds} s, 50 connections, HTTPS; median round, median of per-round ratios`,
      bare_fastify_https: medianRound(bare),
      broker_lookup_https: {
        ...medianRound(quiet),
        ratio_to_bare: medianRatio(quiet, bare),
        target_ratio: 0.8,
      },
      broker_lookup_https_logging: {
        ...medianRound(logging),
        ratio_to_bare: medianRatio(logging, bare),
      },
    };
  } finally {
    for (const server of servers) await server.process.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const SIDES = [
  ["bare", "off"],
  ["broker", "off"],
  ["broker", "on"],
];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const medianRound = (results) => {
  const rps = median(results.map((r) => r.requests_per_s));
  return results.find((r) => r.requests_per_s === rps);
};
const medianRatio = (results, baseline) =>
  Number(median(results.map((r, i) => r.requests_per_s / baseline[i].requests_per_s)).toFixed(3));

async function startServer(mode, dir, logging) {
  const port = await freePort();
  const process = startProcess([
    `${ROOT}bench/broker-lookup-server.mjs`,
    mode,
    String(port),
    dir,
    logging,
  ]);
  const url = `https://127.0.0.1:${port}${PATH}`;
  const name = `${mode} (logging ${logging})`;
  await waitForOk(url, { authorization: `Bearer ${TOKEN}` }, () => `${name}: ${process.stderr()}`);
  return { name, url, process };
}

async function waitForOk(url, headers, describe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await new Promise((resolve) => {
      request(url, { headers, rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
        .on("error", () => resolve(0))
        .end();
    });
    if (status === 200) return;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${url} (last status ${status}): ${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

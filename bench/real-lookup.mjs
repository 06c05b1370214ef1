import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, freePort, load, loadWithCpu, ROOT, startProcess, vaultPid } from "./lib.mjs";
import { selfSignedCertificate } from "./self-signed-cert.mjs";

const ROUNDS = 5;

/**
 * The real thing: `strongroom up` on the example TripleO deployment, then with the same
 * autocannon client over HTTPS: (1) a cached lookup of nova's [database] connection through
 * the broker, (2) the same secret read straight from the Vault API each time, as a Castellan
 * client does, and (3) a bare fastify HTTPS route returning a constant. Rounds alternate;
 * ratios are medians of per-round ratios. Targets: (1)/(3) ≥ 0.8, (1)/(2) ≥ 5. (4) repeats (1)
 * as nova itself, with its kit's client certificate and no token, as oslo's remote_file asks.
 * Each run also reports the CPU the serving process and the client spent per request.
 */
export async function benchRealLookup({ duration = 5 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "strongroom-bench-up-"));
  const stateDir = join(dir, "state");
  const up = spawn(
    process.execPath,
    [
      BIN,
      "up",
      "--manifest",
      `${ROOT}examples/tripleo/manifest.yaml`,
      "--seed",
      `${ROOT}examples/tripleo/overcloud-passwords.yaml`,
      "--listen",
      "127.0.0.1:0",
      "--state-dir",
      stateDir,
    ],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  let stdout = "";
  up.stdout.on("data", (d) => (stdout += d));
  let bare;
  try {
    await waitUntil(() => stdout.includes("strongroom is up"), 60_000, "strongroom up");
    const state = JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8"));
    const token = readFileSync(join(stateDir, "operator.token"), "utf8").trim();
    const headers = { authorization: `Bearer ${token}` };
    const brokerUrl = `${state.broker.url}/v1/config/nova/database/connection`;
    const vaultUrl = `${state.vault.addr}/v1/${state.vault.kvMount ?? "secret"}/data/strongroom/${state.deployment}/secrets/NovaPassword`;

    const { cert, key } = await selfSignedCertificate();
    writeFileSync(join(dir, "cert.pem"), cert);
    writeFileSync(join(dir, "key.pem"), key, { mode: 0o600 });
    const port = await freePort();
    bare = startProcess([
      `${ROOT}bench/broker-lookup-server.mjs`,
      "bare",
      String(port),
      dir,
      "off",
    ]);
    const bareUrl = `https://127.0.0.1:${port}/v1/config/nova/database/connection`;
    await waitUntil(
      async () => (await load({ url: bareUrl, duration: 1, connections: 1 })).total > 0,
      30_000,
      "bare fastify",
    );

    // nova's own identity, as oslo's remote_file presents it: its kit's client certificate.
    const kit = join(dir, "nova-kit");
    execFileSync(process.execPath, [
      BIN,
      "service-kit",
      "nova",
      "--out",
      kit,
      "--state-dir",
      stateDir,
    ]);
    const novaTls = {
      cert: readFileSync(join(kit, "client.pem")),
      key: readFileSync(join(kit, "client.key")),
      ca: readFileSync(join(kit, "ca.pem")),
    };

    const sides = [
      { name: "broker", url: brokerUrl, headers, pid: up.pid },
      { name: "vault", url: vaultUrl, headers: { "x-vault-token": token }, pid: vaultPid(up.pid) },
      { name: "bare", url: bareUrl, headers, pid: bare.child.pid },
      { name: "broker (nova's certificate)", url: brokerUrl, tlsOptions: novaTls, pid: up.pid },
    ];
    for (const side of sides) await load({ ...request(side), duration: 1 });
    const seconds = Math.max(1, Math.round(duration / 3));
    const results = sides.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (let turn = 0; turn < sides.length; turn++) {
        const i = (round + turn) % sides.length;
        const r = await loadWithCpu(sides[i].pid, { ...request(sides[i]), duration: seconds });
        if (r.failed > 0) throw new Error(`${sides[i].name}: ${r.failed} failed requests`);
        results[i].push(r);
      }
    }
    const [broker, vault, bareRuns, brokerMtls] = results;
    const ratio = (a, b) =>
      Number(median(a.map((r, i) => r.requests_per_s / b[i].requests_per_s)).toFixed(3));
    return {
      method: `${ROUNDS} alternating rounds of ${seconds} s, 50 connections, HTTPS; the broker and Vault with the operator token, and the broker again with nova's client certificate`,
      broker_cached_lookup: medianRun(broker),
      vault_api_direct_read: medianRun(vault),
      bare_fastify_constant: medianRun(bareRuns),
      ratio_broker_to_bare: { value: ratio(broker, bareRuns), target: 0.8 },
      ratio_broker_to_vault_direct: { value: ratio(broker, vault), target: 5 },
      broker_cached_lookup_service_certificate: {
        ...medianRun(brokerMtls),
        ratio_to_bare: ratio(brokerMtls, bareRuns),
        ratio_to_vault_direct: ratio(brokerMtls, vault),
      },
    };
  } finally {
    up.kill("SIGTERM");
    await once(up, "exit");
    await bare?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A side's request options for autocannon: headers, or a client certificate. */
const request = (side) => ({
  url: side.url,
  ...(side.headers && { headers: side.headers }),
  ...(side.tlsOptions && { tlsOptions: side.tlsOptions }),
});

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const medianRun = (runs) => {
  const rps = median(runs.map((r) => r.requests_per_s));
  return runs.find((r) => r.requests_per_s === rps);
};

async function waitUntil(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

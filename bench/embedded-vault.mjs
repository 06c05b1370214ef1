import { freePort, load, ROOT, startProcess, startStorageVault, waitForHttp } from "./lib.mjs";

/**
 * Embedded Vault KV v2 throughput on loopback: reads and durable writes against a persistent
 * (SQLite, synchronous=FULL) server, next to a bare node:http server answering a constant,
 * all measured in this run with the same client.
 */
export async function benchEmbeddedVault({ duration = 5 } = {}) {
  const baseline = await bareHttpBaseline(duration);

  const vault = await startStorageVault("vault");
  const { addr } = vault;
  try {
    const token = vault.rootToken;
    const headers = { "x-vault-token": token, "content-type": "application/json" };
    const record = JSON.stringify({
      data: {
        type: "passphrase",
        value: "73656372657421",
        algorithm: null,
        bit_length: null,
        name: "bench",
        created: 1700000000,
      },
    });
    await fetch(`${addr}/v1/secret/data/bench/read`, { method: "POST", headers, body: record });

    const reads = await load({ url: `${addr}/v1/secret/data/bench/read`, headers, duration });
    let n = 0;
    const writes = await load({
      url: `${addr}/v1/secret/data/bench/write`,
      method: "POST",
      headers,
      duration,
      requests: [
        {
          setupRequest: (req) => ({
            ...req,
            path: `/v1/secret/data/bench/w-${n++ % 1000}`,
            body: record,
          }),
        },
      ],
    });
    return {
      baseline_bare_http: baseline,
      kv2_read: { ...reads, ratio_to_baseline: ratio(reads, baseline), target_per_s: 10000 },
      kv2_durable_write: {
        ...writes,
        ratio_to_baseline: ratio(writes, baseline),
        target_per_s: 2000,
      },
    };
  } finally {
    await vault.stop();
  }
}

const ratio = (a, b) => Number((a.requests_per_s / b.requests_per_s).toFixed(3));

async function bareHttpBaseline(duration) {
  const port = await freePort();
  const server = startProcess([`${ROOT}bench/bare-http-server.mjs`, String(port)]);
  try {
    await waitForHttp(`http://127.0.0.1:${port}/`);
    return await load({ url: `http://127.0.0.1:${port}/`, duration });
  } finally {
    await server.stop();
  }
}

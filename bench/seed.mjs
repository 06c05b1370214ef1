import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, freePort, ROOT, startProcess, waitForHttp } from "./lib.mjs";

const dist = (path) => import(`${ROOT}dist/${path}`);

/**
 * Seeding N secrets through the broker's all-or-nothing seed (parse, plan, CAS-0 writes of
 * Castellan records) into the embedded Vault with durable (SQLite, synchronous=FULL) storage.
 * Target: 10,000 secrets in ≤ 10 s.
 */
export async function benchSeed({ count = 10_000 } = {}) {
  const { parseManifest } = await dist("src/config/manifest.js");
  const { createBrokerService } = await dist("src/broker/create-broker-service.js");
  const { createVaultKeyManager } = await dist("drivers/key-managers/vault/index.js");
  const { createVaultClient } = await dist("src/vault/vault-client.js");

  const dir = mkdtempSync(join(tmpdir(), "strongroom-bench-seed-"));
  const port = await freePort();
  const addr = `http://127.0.0.1:${port}`;
  const server = startProcess([
    BIN,
    "vault-server",
    "--storage",
    join(dir, "data"),
    "--listen",
    `127.0.0.1:${port}`,
  ]);
  try {
    await waitForHttp(`${addr}/v1/sys/health`);
    const anonymous = createVaultClient({ addr });
    const init = await anonymous.init({ secret_shares: 1, secret_threshold: 1 });
    await anonymous.unseal({ key: init.keys_base64[0] });
    const client = createVaultClient({ addr, token: init.root_token });
    await client.mount({ mount_point: "secret", type: "kv", options: { version: "2" } });

    const manifest = parseManifest(
      "deployment: {name: bench}\nsecrets: {BenchPassword: {}}\nservices:\n  svc:\n    options:\n      DEFAULT:\n        password: {secret: true, value: '{{ secret.BenchPassword }}'}\n",
      "bench-manifest.yaml",
    );
    const keyManager = createVaultKeyManager({ client, mount: "secret", deployment: "bench" });
    const broker = createBrokerService({
      manifest,
      keyManager,
      sources: [],
      vaultUrl: addr,
      kvMount: "secret",
    });
    const lines = [];
    for (let i = 0; i < count; i++)
      lines.push(`BenchSecret${i}: "value-${i}-${Math.random().toString(36).slice(2)}"`);
    const text = `${lines.join("\n")}\n`;

    const started = performance.now();
    const report = await broker.seed({
      text,
      file: "bench-input.yaml",
      format: "yaml",
      generate: true,
      dryRun: false,
    });
    const seconds = (performance.now() - started) / 1000;
    return {
      secrets: count,
      written: report.written,
      seconds: Number(seconds.toFixed(2)),
      secrets_per_s: Math.round(report.written / seconds),
      target_seconds: 10,
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

import { ROOT, startStorageVault } from "./lib.mjs";

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

  const vault = await startStorageVault("seed");
  try {
    const client = createVaultClient({ addr: vault.addr, token: vault.rootToken });

    const manifest = parseManifest(
      "deployment: {name: bench}\nsecrets: {BenchPassword: {}}\nservices:\n  svc:\n    options:\n      DEFAULT:\n        password: {secret: true, value: '{{ secret.BenchPassword }}'}\n",
      "bench-manifest.yaml",
    );
    const keyManager = createVaultKeyManager({ client, mount: "secret", deployment: "bench" });
    const broker = createBrokerService({
      manifest,
      keyManager,
      sources: [],
      vaultUrl: vault.addr,
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
    await vault.stop();
  }
}

import { ROOT, startStorageVault } from "./lib.mjs";

const dist = (path) => import(`${ROOT}dist/${path}`);

/**
 * The broker's own overhead per rotation: every step persisted (record, lock, check-and-set
 * commit, lookup cache and rendered castellan records), against the embedded Vault with durable
 * storage. The target and the restarts are no-ops, so database work and restarts are excluded.
 * Target: ≤ 200 ms per secret. Baseline in the same run: one durable KV v2 write.
 */
export async function benchRotation({ count = 40 } = {}) {
  const { parseManifest } = await dist("src/config/manifest.js");
  const { createBrokerService } = await dist("src/broker/create-broker-service.js");
  const { createVaultKeyManager, createVaultRecordStore } = await dist(
    "drivers/key-managers/vault/index.js",
  );
  const { createVaultClient } = await dist("src/vault/vault-client.js");
  const { createDriverRegistry } = await dist("drivers/registry.js");
  const { createRotationService } = await dist("src/rotation/rotation-service.js");
  const { createRotationStore } = await dist("src/rotation/rotation-store.js");
  const { createCastellanSource } = await dist("drivers/config-sources/castellan/index.js");

  const vault = await startStorageVault("rotation");
  try {
    const client = createVaultClient({ addr: vault.addr, token: vault.rootToken });
    const names = Array.from({ length: count }, (_, i) => `BenchPassword${i}`);
    const manifest = parseManifest(
      [
        "deployment: {name: bench}",
        "secrets:",
        ...names.map((n) => `  ${n}: {target: {kind: command, apply: [noop], verify: [noop]}}`),
        "services:",
        ...["api", "worker"].flatMap((svc) => [
          `  ${svc}:`,
          "    restart: {kind: noop}",
          "    options:",
          "      DEFAULT:",
          ...names.map((n) => `        opt_${n.toLowerCase()}: '{{ secret.${n} }}'`),
        ]),
      ].join("\n"),
      "bench-manifest.yaml",
    );
    const keyManager = createVaultKeyManager({ client, mount: "secret", deployment: "bench" });
    const records = createVaultRecordStore({ client, mount: "secret", deployment: "bench" });
    const broker = createBrokerService({
      manifest,
      keyManager,
      sources: [createCastellanSource({ manifest, keyManager })],
      vaultUrl: vault.addr,
      kvMount: "secret",
      records,
    });
    await broker.seed({
      text: "{}\n",
      file: "x.yaml",
      format: "yaml",
      generate: true,
      dryRun: false,
    });

    const accepted = new Set();
    const registry = createDriverRegistry([
      {
        kind: "rotation-target",
        name: "command",
        async create() {
          return {
            driver: "command",
            describe: () => ({ kind: "command", accounts: ["bench"], overlap: "dual" }),
            accepts: async (password) => accepted.has(password),
            apply: async (v) => void accepted.add(v.next).add(v.current),
            retire: async (v) => void accepted.delete(v.current),
            rollback: async (v) => void accepted.delete(v.next),
          };
        },
      },
      {
        kind: "restarter",
        name: "noop",
        create: () => ({ driver: "noop", restart: async () => {} }),
      },
    ]);
    const rotations = createRotationService({
      manifest,
      keyManager,
      store: createRotationStore(records),
      registry,
      owner: "bench",
      commit: (secret, value, expected) => broker.commitSecret(secret, value, expected),
      log: () => {},
    });

    const writeStarted = performance.now();
    const writes = 50;
    for (let i = 0; i < writes; i++) await records.write("bench/baseline", { i });
    const writeMs = (performance.now() - writeStarted) / writes;

    const started = performance.now();
    for (const name of names) {
      await rotations.start([name]);
      await rotations.idle();
    }
    const perRotationMs = (performance.now() - started) / count;
    const done = (await rotations.list()).filter((r) => r.status === "done").length;
    return {
      rotations: count,
      done,
      consumers_per_secret: 2,
      ms_per_rotation: Number(perRotationMs.toFixed(1)),
      baseline_ms_per_durable_kv_write: Number(writeMs.toFixed(2)),
      kv_writes_equivalent: Number((perRotationMs / writeMs).toFixed(1)),
      target_ms_per_rotation: 200,
    };
  } finally {
    await vault.stop();
  }
}

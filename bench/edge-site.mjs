import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, freePort, round, testHelper } from "./lib.mjs";

/**
 * One edge site, measured for docs/scale.md: a deployment of `secrets` passwords (24 characters,
 * the TripleO default) used by 10 services, bootstrapped on a TLS embedded Vault, seeded through
 * a `serve` replica, then exported (POST /v1/export) to one recipient. Reports the Vault's
 * storage once stopped (the deployment's policies, roles, rendered records and secrets), the
 * bundle's size and the export's time, to extrapolate to many sites.
 */
export async function benchEdgeSite({ secrets = 100 } = {}) {
  const { startTlsVault, bootstrap, startServe, serveArgs } = await testHelper("serve-replicas.ts");
  const dir = mkdtempSync(join(tmpdir(), "strongroom-bench-edge-"));
  const names = Array.from({ length: secrets }, (_, i) => `EdgePassword${i}`);
  const services = Array.from({ length: 10 }, (_, i) => `svc${i}`);
  const manifest = join(dir, "manifest.yaml");
  writeFileSync(
    manifest,
    [
      "deployment:",
      "  name: edge0001",
      "secrets:",
      ...names.map((name) => `  ${name}: {}`),
      "services:",
      ...services.map(
        (service, s) =>
          `  ${service}:\n    options:\n      DEFAULT:\n${names
            .filter((_, i) => i % services.length === s)
            .map((name) => `        ${name.toLowerCase()}: "{{ secret.${name} }}"`)
            .join("\n")}`,
      ),
      "",
    ].join("\n"),
  );
  let vault;
  let replica;
  try {
    vault = await startTlsVault(dir);
    const storage = join(dir, "vault-storage");
    const out = join(dir, "out");
    await bootstrap(vault, manifest, out);
    replica = await startServe(serveArgs(vault, manifest, out, `127.0.0.1:${await freePort()}`));
    const ca = readFileSync(join(out, "ca.pem"));
    const token = readFileSync(join(out, "operator-token"), "utf8").trim();
    // Nothing given: every secret generated (24 characters).
    const seeded = await call(`${replica.url}/v1/seed`, {
      ca,
      token,
      body: JSON.stringify({ text: "{}", format: "json", generate: true }),
    });

    execFileSync(process.execPath, [BIN, "keygen", "--out", join(dir, "site")]);
    const recipient = readFileSync(join(dir, "site.pub"), "utf8");
    const t0 = performance.now();
    const bundle = await call(`${replica.url}/v1/export`, {
      ca,
      token,
      body: JSON.stringify({ recipients: [recipient] }),
    });
    const exportMs = performance.now() - t0;
    await replica.stop();
    // Stopped: SQLite has folded its write-ahead log into the database file.
    await vault.server.stop();
    return {
      secrets,
      services: services.length,
      seed_status: seeded.status,
      vault_storage_bytes: dirBytes(storage),
      export_status: bundle.status,
      bundle_bytes: bundle.bytes,
      bundle_bytes_per_secret: round(bundle.bytes / secrets),
      export_ms: round(exportMs),
    };
  } finally {
    await replica?.stop();
    await vault?.server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function dirBytes(dir) {
  let total = 0;
  for (const name of readdirSync(dir, { recursive: true })) {
    const stat = statSync(join(dir, name));
    if (stat.isFile()) total += stat.size;
  }
  return total;
}

function call(url, { ca, token, body }) {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        ca,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const data = Buffer.concat(chunks);
          resolve({
            status: res.statusCode,
            bytes: data.length,
            text: data.toString("utf8", 0, 300),
          });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

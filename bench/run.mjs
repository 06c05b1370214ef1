#!/usr/bin/env node
// `npm run bench`: every benchmark in one run, one JSON document on stdout. Targets are in
// README "Benchmarks"; each figure sits next to the baseline it is compared with, measured in this run.
// BENCH_ONLY=vault,seed,lookup,broker-http,oslo-load,placement-start,rotation,bundle,export-import,storm,edge limits the run;
// BENCH_DURATION sets seconds per load; BENCH_OSLO_ROUNDS (30) and BENCH_PLACEMENT_ROUNDS (5) the rounds
// of oslo-load (real oslo.config, remote_file vs castellan) and placement-start (a real Placement).
// storm: the restart storm (BENCH_STORM_SERVICES, default 2,000 service identities, each fetching its
// config on a new mTLS connection) against 1 and 3 `serve` replicas vs a bare fastify HTTPS route.
// edge: one edge site of 100 secrets (Vault storage, bundle size, export time; docs/scale.md).
// export-import: the real export and import of BENCH_EXPORT_SECRETS (default 100,000) secrets through Vault (minutes).
import { cpus, loadavg } from "node:os";
import { benchBrokerLookup } from "./broker-lookup.mjs";
import { benchBundle } from "./bundle.mjs";
import { benchEdgeSite } from "./edge-site.mjs";
import { benchEmbeddedVault } from "./embedded-vault.mjs";
import { benchExportImport } from "./export-import.mjs";
import { benchOsloLoad } from "./oslo-load.mjs";
import { benchPlacementStart } from "./placement-start.mjs";
import { benchRealLookup } from "./real-lookup.mjs";
import { benchRestartStorm } from "./restart-storm.mjs";
import { benchRotation } from "./rotation.mjs";
import { benchSeed } from "./seed.mjs";

const duration = Number(process.env.BENCH_DURATION ?? 5);
const only = process.env.BENCH_ONLY?.split(",");
const wanted = (name) => !only || only.includes(name);

const results = {
  node: process.version,
  cpus: cpus().length,
  date: new Date().toISOString(),
  loadavg_at_start: loadavg(),
};
const progress = (name) => process.stderr.write(`bench: ${name}...\n`);
if (wanted("vault")) {
  progress("embedded Vault KV v2 reads and durable writes");
  results.embedded_vault = await benchEmbeddedVault({ duration });
}
if (wanted("seed")) {
  progress("seeding 10,000 secrets");
  results.seed = await benchSeed({ count: 10_000 });
}
if (wanted("lookup")) {
  progress("cached lookups vs bare fastify vs Vault API (strongroom up)");
  results.lookup = await benchRealLookup({ duration });
}
if (wanted("broker-http")) {
  progress("broker HTTP layer vs bare fastify (constant broker)");
  results.broker_http_layer = await benchBrokerLookup({ duration });
}
if (wanted("oslo-load")) {
  progress(
    "nova's config load with the real oslo.config: remote_file via the broker vs castellan from Vault",
  );
  results.oslo_load = await benchOsloLoad({ rounds: Number(process.env.BENCH_OSLO_ROUNDS ?? 30) });
}
if (wanted("placement-start")) {
  progress(
    "a real Placement's start to first 200: config from strongroom vs a local placement.conf",
  );
  results.placement_start = await benchPlacementStart({
    rounds: Number(process.env.BENCH_PLACEMENT_ROUNDS ?? 5),
  });
}
if (wanted("rotation")) {
  progress("rotation overhead per secret (no-op target and restarts)");
  results.rotation = await benchRotation();
}
if (wanted("bundle")) {
  progress("bundle export/import of 100,000 secrets vs raw libsodium secretstream");
  results.bundle = await benchBundle({ count: 100_000 });
}
if (wanted("export-import")) {
  const count = Number(process.env.BENCH_EXPORT_SECRETS ?? 100_000);
  progress(`export and import of ${count} secrets through Vault vs raw libsodium secretstream`);
  results.export_import = await benchExportImport({ count });
}
if (wanted("storm")) {
  const services = Number(process.env.BENCH_STORM_SERVICES ?? 2000);
  progress(
    `restart storm: ${services} service identities, new mTLS connection each, 1 and 3 replicas vs bare fastify`,
  );
  results.restart_storm = await benchRestartStorm({ services });
}
if (wanted("edge")) {
  progress("one edge site of 100 secrets: Vault storage, bundle size, export time");
  results.edge_site = await benchEdgeSite({ secrets: 100 });
}
results.loadavg_at_end = loadavg();
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);

#!/usr/bin/env node
// `npm run bench`: every benchmark in one run, one JSON document on stdout.
import { benchEmbeddedVault } from "./embedded-vault.mjs";

const duration = Number(process.env.BENCH_DURATION ?? 5);
const results = {
  node: process.version,
  cpus: (await import("node:os")).cpus().length,
  date: new Date().toISOString(),
  embedded_vault: await benchEmbeddedVault({ duration }),
};
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);

// Export and import of a whole store through strongroom's real code paths (issue 5), next to raw
// libsodium secretstream over the same number of bytes in the same run. Unlike bench/bundle.mjs
// (the bundle library over synthetic records), the records here come out of a Vault and go back
// into one:
//   - source: an embedded Vault with durable storage holding N secrets of one deployment in
//     strongroom's KV layout (Castellan records, every 4th secret with 2 versions) and its stored
//     manifest; loading it is setup, not measured (its duration goes to stderr);
//   - export: the exporter behind POST /v1/export (createBundleExporter → prepare → writeTo) into
//     a file, in a child process so its peak RSS is its own; a second, instrumented child runs
//     the same three steps writeTo composes (planExport, exportRecords, writeBundle) and times
//     how long the writer waits for records, which separates the bundle stage from Vault reads;
//   - import: the whole `strongroom import` CLI into a fresh state dir (verify every chunk, start
//     its own embedded Vault with durable storage, bootstrap, load every version, seal, stop), in
//     a child process whose peak RSS is read at exit; the embedded Vault it spawns is sampled from
//     /proc. Its bundle passes (verifyAll, then decrypting and decoding the records) are also
//     run alone, without Vault, to show where the time goes.
// `node bench/export-import.mjs PHASE ARGS_JSON` runs one child phase and prints JSON.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import {
  createWriteStream,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// Not from lib.mjs: the child phases must not load autocannon (it would count in their RSS).
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = `${ROOT}bin/strongroom.js`;
const dist = (path) => import(`${ROOT}dist/${path}`);
const SCRIPT = fileURLToPath(import.meta.url);
const MB = 1024 * 1024;
const KV_MOUNT = "secret";
const DEPLOYMENT = "bench-export";
/** The source Vault's root token, for the export phases. */
const TOKEN_ENV = "BENCH_SOURCE_VAULT_TOKEN";
/** KV writes in flight while loading the source. */
const LOAD_CONCURRENCY = 128;

/**
 * Targets: export and import of 100,000 secrets in bounded memory (peak RSS
 * ≤ 200 MB) at ≥ 0.5 × raw libsodium secretstream. Throughput ratios compare times over the same
 * bytes: the bundle's plaintext (records + 4-byte length prefixes), sealed (export) or opened
 * (import) in chunks of the bundle's chunk size with bare crypto_secretstream push/pull, in memory.
 */
export async function benchExportImport({
  count = Number(process.env.BENCH_EXPORT_SECRETS ?? 100_000),
} = {}) {
  const { startStorageVault } = await import("./lib.mjs");
  const keys = await dist("src/bundle/keys.js");
  const loadavgAtStart = loadavg();
  const dir = mkdtempSync(join(tmpdir(), "strongroom-bench-export-import-"));
  let source;
  try {
    await keys.writeKeyFiles(join(dir, "broker"), await keys.generateBundleKeyPair());
    await keys.writeKeyFiles(join(dir, "site"), await keys.generateBundleKeyPair());

    source = await startStorageVault("export-source");
    const loadStarted = performance.now();
    const versions = await loadSource(source, count);
    process.stderr.write(
      `bench: export-import: loaded ${count} secrets (${versions} versions) into the source Vault ` +
        `in ${secondsSince(loadStarted)} s (setup, not measured)\n`,
    );
    const sourcePid = findProcess(process.pid, `127.0.0.1:${new URL(source.addr).port}`);

    const phaseArgs = { dir, addr: source.addr };
    // The root token goes by environment: a process's arguments are readable by every user.
    const phaseEnv = { [TOKEN_ENV]: source.rootToken };
    const bundleFile = join(dir, "store.bundle");
    resetPeakRss(sourcePid);
    process.stderr.write("bench: export-import: export (POST /v1/export's exporter)...\n");
    const exported = await runPhase("export", { ...phaseArgs, file: bundleFile }, phaseEnv);
    const sourcePeak = peakRssOf(sourcePid);
    process.stderr.write("bench: export-import: export again, instrumented...\n");
    const timedFile = join(dir, "timed.bundle");
    const timed = await runPhase("export-timed", { ...phaseArgs, file: timedFile }, phaseEnv);
    rmSync(timedFile);
    await source.stop();
    source = undefined;

    process.stderr.write("bench: export-import: bundle passes of the import, alone...\n");
    const passes = await runPhase("import-passes", { dir, file: bundleFile });
    process.stderr.write("bench: export-import: raw secretstream over the same bytes...\n");
    const raw = await runPhase("raw", {
      bytes: passes.plaintext_bytes,
      chunkSize: passes.chunk_size,
    });
    process.stderr.write("bench: export-import: strongroom import into a fresh state dir...\n");
    const imported = await runImportCli(dir, bundleFile);

    const expectedVersions = count + Math.ceil(count / 4);
    if (exported.records !== count + 2 || passes.secrets !== count) {
      throw new Error(`export-import: the bundle holds ${passes.secrets} secrets, not ${count}`);
    }
    if (imported.report.secrets !== count || imported.report.versions !== expectedVersions) {
      throw new Error(
        `export-import: imported ${imported.report.secrets} secrets and ` +
          `${imported.report.versions} versions, expected ${count} and ${expectedVersions}`,
      );
    }

    const plain = passes.plaintext_bytes;
    const rawSeal = mbps(plain, raw.seal_seconds);
    const rawOpen = mbps(plain, raw.open_seconds);
    const ratio = (baselineSeconds, seconds) => Number((baselineSeconds / seconds).toFixed(3));
    const timedBundleStage =
      timed.seconds - timed.prepare_seconds - timed.waiting_for_records_seconds;
    const bundlePasses = passes.verify_seconds + passes.decode_seconds;
    return {
      secrets: count,
      versions: expectedVersions,
      records: exported.records,
      bundle_bytes: exported.bundle_bytes,
      plaintext_bytes: plain,
      chunk_size: passes.chunk_size,
      raw_secretstream: {
        seal_seconds: round3(raw.seal_seconds),
        open_seconds: round3(raw.open_seconds),
        seal_mb_per_s: rawSeal,
        open_mb_per_s: rawOpen,
        rounds: raw.rounds,
        median_of_rounds: true,
      },
      export: {
        seconds: exported.seconds,
        secrets_per_s: Math.round(count / exported.seconds),
        bundle_mb_per_s: mbps(exported.bundle_bytes, exported.seconds),
        plaintext_mb_per_s: mbps(plain, exported.seconds),
        ratio_to_raw_seal: ratio(raw.seal_seconds, exported.seconds),
        target_ratio: 0.5,
        peak_rss_mb: exported.peak_rss_mb,
        target_peak_rss_mb: 200,
        source_vault_peak_rss_mb: sourcePeak,
        where_time_goes: {
          run: "instrumented export: planExport, then writeBundle over exportRecords",
          seconds: timed.seconds,
          listing_and_manifest_seconds: timed.prepare_seconds,
          writer_waiting_on_vault_reads_seconds: timed.waiting_for_records_seconds,
          bundle_stage_seconds: round3(timedBundleStage),
          bundle_stage_plaintext_mb_per_s: mbps(plain, timedBundleStage),
          bundle_stage_ratio_to_raw_seal: ratio(raw.seal_seconds, timedBundleStage),
          peak_rss_mb: timed.peak_rss_mb,
        },
      },
      import: {
        seconds: imported.seconds,
        secrets_per_s: Math.round(count / imported.seconds),
        bundle_mb_per_s: mbps(exported.bundle_bytes, imported.seconds),
        plaintext_mb_per_s: mbps(plain, imported.seconds),
        ratio_to_raw_open: ratio(raw.open_seconds, imported.seconds),
        target_ratio: 0.5,
        peak_rss_mb: imported.peak_rss_mb,
        target_peak_rss_mb: 200,
        embedded_vault_peak_rss_mb: imported.vault_peak_rss_mb,
        where_time_goes: {
          run: "the import's two bundle passes run alone (no Vault), against the whole CLI above",
          // From outside, ±0.25 s: before its Vault starts, the CLI has read the keys, verified
          // every chunk and made the state dir's CA; the Vault then lives through bootstrap, the
          // writes (with the second bundle pass interleaved) and the seal.
          cli_before_vault_started_seconds: imported.vault_seen?.first ?? null,
          cli_vault_running_seconds: imported.vault_seen
            ? round3(imported.vault_seen.last - imported.vault_seen.first)
            : null,
          verify_pass_seconds: passes.verify_seconds,
          verify_pass_ratio_to_raw_open: ratio(raw.open_seconds, passes.verify_seconds),
          decrypt_and_decode_pass_seconds: passes.decode_seconds,
          bundle_stage_seconds: round3(bundlePasses),
          bundle_stage_plaintext_mb_per_s: mbps(plain, bundlePasses),
          bundle_stage_ratio_to_raw_open: ratio(raw.open_seconds, bundlePasses),
          // The decode pass overlaps the Vault writes in the real import: the rest is a lower
          // bound of Vault start, bootstrap, writes and seal.
          rest_vault_side_seconds_at_least: round3(imported.seconds - bundlePasses),
          passes_peak_rss_mb: passes.peak_rss_mb,
        },
      },
      source_load: { concurrency: LOAD_CONCURRENCY, note: "setup, not measured" },
      loadavg_at_start: loadavgAtStart,
      loadavg_at_end: loadavg(),
    };
  } finally {
    await source?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const round3 = (n) => Number(n.toFixed(3));
const mbps = (bytes, seconds) => Number((bytes / MB / seconds).toFixed(1));
const secondsSince = (started) => round3((performance.now() - started) / 1000);
/**
 * This process's peak RSS. Not process.resourceUsage().maxRSS: on Linux a spawned child's
 * ru_maxrss starts at its parent's RSS at fork time (the forked copy's high-water mark survives
 * exec), while /proc/self/status VmHWM belongs to the new program alone.
 */
const peakRssMb = () => Number((statusKb("self", "VmHWM") / 1024).toFixed(1));

/** Zero-padded, so Vault's sorted listing is the load order. */
const secretName = (i) => `BenchSecret${String(i).padStart(6, "0")}`;

const MANIFEST_YAML = [
  `deployment: {name: ${DEPLOYMENT}}`,
  `secrets: {${secretName(0)}: {}}`,
  "services:",
  "  svc:",
  "    options:",
  "      DEFAULT:",
  `        password: {secret: true, value: '{{ secret.${secretName(0)} }}'}`,
  "",
].join("\n");

/**
 * The deployment as `up` + `seed` leave it: the stored manifest (bootstrap's record) and one
 * Castellan record per secret, every 4th rewritten once (2 versions). LOAD_CONCURRENCY writes in
 * flight. Answers the number of versions written.
 */
async function loadSource(vault, count) {
  const prefix = `${vault.addr}/v1/${KV_MOUNT}/data/strongroom/${DEPLOYMENT}`;
  const write = async (path, data) => {
    const res = await fetch(`${prefix}/${path}`, {
      method: "POST",
      headers: { "x-vault-token": vault.rootToken, "content-type": "application/json" },
      body: JSON.stringify({ data }),
    });
    if (res.status >= 300) throw new Error(`load ${path}: HTTP ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  await write("manifest", {
    file: "bench-manifest.yaml",
    sha256: createHash("sha256").update(MANIFEST_YAML).digest("hex"),
    yaml: MANIFEST_YAML,
    services: ["svc"],
  });
  const created = Math.floor(Date.now() / 1000);
  const record = (name, i) => ({
    type: "passphrase",
    // TripleO-like: 24 random characters, stored as lower-case hex of the UTF-8 bytes
    value: Buffer.from(randomBytes(18).toString("base64url"), "utf8").toString("hex"),
    algorithm: null,
    bit_length: null,
    name,
    created: created - count + i,
  });
  let next = 0;
  let versions = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const name = secretName(i);
      await write(`secrets/${name}`, record(name, i));
      versions++;
      if (i % 4 === 0) {
        await write(`secrets/${name}`, record(name, i));
        versions++;
      }
    }
  };
  await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
  return versions;
}

/** Runs `node bench/export-import.mjs PHASE ARGS` (with `env` added) and answers its JSON. */
async function runPhase(phase, args, env = {}) {
  const child = spawn(process.execPath, [SCRIPT, phase, JSON.stringify(args)], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  let out = "";
  child.stdout.on("data", (data) => {
    out += data;
  });
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`bench export-import ${phase}: exit ${code}`);
  return JSON.parse(out);
}

/** Appends each node process's own VmHWM (kB) to $BENCH_RSS_FILE as it exits; loaded with
 * --import. bin/strongroom.js runs `import` in a child with a capped heap and passes its node
 * flags on, so the launcher and the worker both report; the worker's figure is the larger. */
const RSS_AT_EXIT =
  "data:text/javascript," +
  encodeURIComponent(
    'import{readFileSync,appendFileSync}from"node:fs";' +
      'process.on("exit",()=>appendFileSync(process.env.BENCH_RSS_FILE,' +
      'readFileSync("/proc/self/status","utf8").match(/^VmHWM:\\s+(\\d+)/m)[1]+"\\n"));',
  );

/** `strongroom import` as an operator runs it, timed from spawn to exit. */
async function runImportCli(dir, bundleFile) {
  const rssFile = join(dir, "import-rss");
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      "--import",
      RSS_AT_EXIT,
      BIN,
      "import",
      bundleFile,
      "--key",
      join(dir, "site.key"),
      "--trust",
      join(dir, "broker.pub"),
      "--state-dir",
      join(dir, "imported"),
      "--json",
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, BENCH_RSS_FILE: rssFile } },
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  // The embedded Vault the import spawns: its VmHWM and when it lives, sampled every 250 ms.
  let vaultPeakKb = 0;
  let vaultSeen;
  const sampler = setInterval(() => {
    for (const pid of descendants(child.pid)) {
      if (!cmdline(pid).includes("vault-server")) continue;
      vaultPeakKb = Math.max(vaultPeakKb, statusKb(pid, "VmHWM"));
      const now = secondsSince(started);
      vaultSeen = { first: vaultSeen?.first ?? now, last: now };
    }
  }, 250);
  let code;
  try {
    [code] = await once(child, "exit");
  } finally {
    clearInterval(sampler);
  }
  const seconds = secondsSince(started);
  if (code !== 0) throw new Error(`strongroom import: exit ${code}: ${err.trim()}`);
  return {
    seconds,
    report: JSON.parse(out),
    peak_rss_mb: Number(
      (Math.max(...readFileSync(rssFile, "utf8").trim().split("\n").map(Number)) / 1024).toFixed(1),
    ),
    vault_peak_rss_mb: Number((vaultPeakKb / 1024).toFixed(1)),
    vault_seen: vaultSeen,
  };
}

// --- /proc helpers (Linux) ----------------------------------------------------------------

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

function statusKb(pid, field) {
  try {
    const match = readFileSync(`/proc/${pid}/status`, "utf8").match(
      new RegExp(`^${field}:\\s+(\\d+) kB`, "m"),
    );
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Every live descendant of `root` (scans /proc/PID/stat for parent ids). */
function descendants(root) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so split after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const found = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function findProcess(root, needle) {
  return descendants(root).find((pid) => cmdline(pid).includes(needle));
}

/** Resets a process's VmHWM (clear_refs 5), so it measures from here on; best effort. */
function resetPeakRss(pid) {
  if (!pid) return;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    // not supported: the figure then includes the load
  }
}

function peakRssOf(pid) {
  return pid ? Number((statusKb(pid, "VmHWM") / 1024).toFixed(1)) : null;
}

// --- child phases ------------------------------------------------------------------------

async function exportSetup({ dir, addr }) {
  const { createVaultClient } = await dist("src/vault/vault-client.js");
  const { readSecretKeyFile } = await dist("src/bundle/keys.js");
  return {
    client: createVaultClient({ addr, token: process.env[TOKEN_ENV] }),
    signer: readSecretKeyFile(join(dir, "broker.key")),
    recipient: readFileSync(join(dir, "site.pub"), "utf8"),
  };
}

/** What POST /v1/export runs, with a file where the route has the HTTP response. */
async function exportPhase(args) {
  const { createBundleExporter } = await dist("src/bundle/export-store.js");
  const { client, signer, recipient } = await exportSetup(args);
  const exporter = createBundleExporter({
    client,
    kvMount: KV_MOUNT,
    deployment: DEPLOYMENT,
    signer,
  });
  const started = performance.now();
  const prepared = await exporter.prepare({ recipients: [recipient] });
  const prepareSeconds = secondsSince(started);
  const summary = await prepared.writeTo(createWriteStream(args.file));
  return {
    seconds: secondsSince(started),
    prepare_seconds: prepareSeconds,
    records: summary.records,
    bundle_bytes: statSync(args.file).size,
    peak_rss_mb: peakRssMb(),
  };
}

/** writeTo's three steps, with the time writeBundle spends waiting for the next record. */
async function exportTimedPhase(args) {
  const { planExport, exportRecords } = await dist("src/bundle/export-store.js");
  const { recordCounts } = await dist("src/bundle/bundle-records.js");
  const { writeBundle } = await dist("src/bundle/writer.js");
  const { parsePublicKey } = await dist("src/bundle/keys.js");
  const { client, signer, recipient } = await exportSetup(args);
  const started = performance.now();
  const plan = await planExport(client, KV_MOUNT, DEPLOYMENT);
  const prepareSeconds = secondsSince(started);
  const records = exportRecords(client, KV_MOUNT, plan);
  let waitingMs = 0;
  async function* timedRecords() {
    for (;;) {
      const asked = performance.now();
      const step = await records.next();
      waitingMs += performance.now() - asked;
      if (step.done) return;
      yield step.value;
    }
  }
  const written = await writeBundle({
    out: createWriteStream(args.file),
    header: {
      deployment: DEPLOYMENT,
      createdAt: new Date().toISOString(),
      counts: recordCounts(plan.names.length),
    },
    recipients: [parsePublicKey(recipient, "site.pub")],
    signer,
    records: timedRecords(),
  });
  return {
    seconds: secondsSince(started),
    prepare_seconds: prepareSeconds,
    waiting_for_records_seconds: round3(waitingMs / 1000),
    records: written.records,
    peak_rss_mb: peakRssMb(),
  };
}

/** The import's bundle work without Vault: verifyAll, then the records decrypted and decoded. */
async function importPassesPhase({ dir, file }) {
  const { openBundle } = await dist("src/bundle/reader.js");
  const { readContents } = await dist("src/bundle/import-store.js");
  const { readPublicKeyFile, readSecretKeyFile } = await dist("src/bundle/keys.js");
  const key = readSecretKeyFile(join(dir, "site.key"));
  const trust = readPublicKeyFile(join(dir, "broker.pub"));
  let started = performance.now();
  const bundle = await openBundle(file, { key, trust: [trust] });
  const verified = await bundle.verifyAll();
  const verifySeconds = secondsSince(started);
  started = performance.now();
  const contents = await readContents(bundle.records(), {
    deployment: bundle.header.deployment,
    secrets: bundle.header.counts.secrets ?? 0,
  });
  let secrets = 0;
  let versions = 0;
  for await (const secret of contents.secrets) {
    secrets++;
    versions += secret.versions.filter((v) => v.data !== null).length;
  }
  return {
    verify_seconds: verifySeconds,
    decode_seconds: secondsSince(started),
    records: verified.records,
    plaintext_bytes: verified.bytes + 4 * verified.records,
    chunk_size: bundle.header.chunkSize,
    secrets,
    versions,
    peak_rss_mb: peakRssMb(),
  };
}

/**
 * Bare crypto_secretstream over `bytes` in `chunkSize` chunks (last one shorter, FINAL tag), with
 * 32 bytes of associated data like the bundle's header hash; in memory. Seal: pushes timed. Open:
 * each chunk pushed (untimed) then pulled (timed). Median of `rounds`.
 */
async function rawPhase({ bytes, chunkSize, rounds = 3 }) {
  const { loadSodium } = await dist("src/lib/sodium.js");
  const sodium = await loadSodium();
  const TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  const TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  const ad = randomBytes(32);
  const key = sodium.crypto_secretstream_xchacha20poly1305_keygen();
  const full = randomBytes(chunkSize);
  const chunks = Math.max(1, Math.ceil(bytes / chunkSize));
  const lastSize = bytes - (chunks - 1) * chunkSize;
  const plainOf = (i) => (i === chunks - 1 ? full.subarray(0, lastSize) : full);
  const tagOf = (i) => (i === chunks - 1 ? TAG_FINAL : TAG_MESSAGE);
  const push = (state, i) =>
    sodium.crypto_secretstream_xchacha20poly1305_push(state, plainOf(i), ad, tagOf(i));
  const seal = [];
  const open = [];
  for (let round = 0; round < rounds; round++) {
    let started = performance.now();
    const sealer = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
    for (let i = 0; i < chunks; i++) push(sealer.state, i);
    seal.push((performance.now() - started) / 1000);

    const pusher = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
    const puller = sodium.crypto_secretstream_xchacha20poly1305_init_pull(pusher.header, key);
    let pullMs = 0;
    for (let i = 0; i < chunks; i++) {
      const cipher = push(pusher.state, i);
      started = performance.now();
      const result = sodium.crypto_secretstream_xchacha20poly1305_pull(puller, cipher, ad);
      pullMs += performance.now() - started;
      if (!result || result.tag !== tagOf(i)) throw new Error("raw pull failed");
    }
    open.push(pullMs / 1000);
  }
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return {
    rounds,
    chunks,
    seal_seconds: median(seal),
    open_seconds: median(open),
  };
}

if (process.argv[1] === SCRIPT) {
  const [phase, json] = process.argv.slice(2);
  const phases = {
    export: exportPhase,
    "export-timed": exportTimedPhase,
    "import-passes": importPassesPhase,
    raw: rawPhase,
  };
  if (!phases[phase]) {
    process.stderr.write(
      `usage: node bench/export-import.mjs ${Object.keys(phases).join("|")} ARGS_JSON\n`,
    );
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(await phases[phase](JSON.parse(json))));
}

// Bundle export/import throughput and memory. Each phase runs in its own child process
// (`node bench/bundle.mjs PHASE DIR COUNT`) so its peak RSS (VmHWM) is
// its own; phases alternate over a few rounds and each figure is the median, as the machine
// may be shared. Records are synthetic secrets (~260 B of JSON each), generated lazily.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// Not from lib.mjs: it loads autocannon, which would count in each phase's peak RSS.
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const dist = (path) => import(`${ROOT}dist/${path}`);
const CHUNK_SIZE = 64 * 1024;
const MB = 1024 * 1024;

/**
 * Target: 100,000 secrets export and import stream at ≥ 0.5 × raw libsodium
 * secretstream speed with peak RSS ≤ 200 MB. "Raw" is crypto_secretstream push (seal) and pull
 * (open) alone over as many 64 KiB chunks as the records fill, in memory. writeBundle's time
 * includes making the synthetic records, measured on its own too; a second baseline (the same
 * records framed, sealed and written with bare libsodium, then read back and opened) shows
 * what the format itself costs.
 */
export async function benchBundle({ count = 100_000, rounds = 3 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "strongroom-bench-bundle-"));
  try {
    const runs = { raw: [], write: [], read: [] };
    for (let round = 0; round < rounds; round++) {
      for (const phase of Object.keys(runs)) runs[phase].push(await runPhase(phase, dir, count));
    }
    const raw = medians(runs.raw);
    const write = medians(runs.write);
    const read = medians(runs.read);
    const ratio = (baselineSeconds, seconds) => Number((baselineSeconds / seconds).toFixed(2));
    const netWrite = write.seconds - write.generation_seconds;
    return {
      records: count,
      record_bytes: write.bytes,
      bundle_bytes: write.bundle_bytes,
      chunk_size: CHUNK_SIZE,
      rounds,
      raw_secretstream_mb_per_s: {
        seal: mbps(raw.bytes, raw.seal_seconds),
        open: mbps(raw.bytes, raw.open_seconds),
      },
      raw_pipeline_mb_per_s: {
        seal_with_generation_and_file_write: mbps(raw.bytes, raw.pipeline_seal_seconds),
        open_with_file_read: mbps(raw.bytes, raw.pipeline_open_seconds),
      },
      write_bundle: {
        seconds: write.seconds,
        generating_records_seconds: write.generation_seconds,
        mb_per_s: mbps(write.bytes, write.seconds),
        // The raw side seals bytes made beforehand: the fair ratio leaves out making the records.
        ratio_to_raw: ratio(raw.seal_seconds, netWrite),
        ratio_to_raw_including_record_generation: ratio(raw.seal_seconds, write.seconds),
        ratio_to_raw_pipeline: ratio(raw.pipeline_seal_seconds, write.seconds),
        peak_rss_mb: write.peak_rss_mb,
      },
      open_bundle_records: {
        seconds: read.seconds,
        mb_per_s: mbps(read.bytes, read.seconds),
        ratio_to_raw: ratio(raw.open_seconds, read.seconds),
        ratio_to_raw_pipeline: ratio(raw.pipeline_open_seconds, read.seconds),
        verify_all_seconds: read.verify_seconds,
        verify_all_ratio_to_raw: ratio(raw.open_seconds, read.verify_seconds),
        peak_rss_mb: read.peak_rss_mb,
      },
      target_ratio: 0.5,
      target_peak_rss_mb: 200,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const mbps = (bytes, seconds) => Number((bytes / MB / seconds).toFixed(1));
const secondsSince = (started) => Number(((performance.now() - started) / 1000).toFixed(3));
/** VmHWM of this process alone: resourceUsage().maxRSS of a spawned child starts at its
 * parent's size. */
const peakRssMb = () =>
  Number(
    (Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"))[1]) / 1024).toFixed(
      1,
    ),
  );

function medians(results) {
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return Object.fromEntries(
    Object.keys(results[0]).map((key) => [key, median(results.map((r) => r[key]))]),
  );
}

async function runPhase(phase, dir, count) {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [script, phase, dir, String(count)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (data) => {
    out += data;
  });
  const [code] = await once(child, "exit");
  if (code !== 0) throw new Error(`bench bundle ${phase}: exit ${code}`);
  return JSON.parse(out);
}

/**
 * Synthetic secret records, made one at a time: never all in memory. Values come from a small
 * pool of random hex strings, so making them costs little next to what is measured.
 */
function* secretRecords(count) {
  const pool = Array.from({ length: 1024 }, () => randomBytes(32).toString("hex"));
  for (let i = 0; i < count; i++) {
    const record = {
      name: `BenchSecret${i}`,
      versions: [
        { version: 1, created: 1_700_000_000 + i, value: pool[i % 1024] },
        { version: 2, created: 1_700_100_000 + i, value: pool[(i * 7 + 3) % 1024] },
      ],
    };
    yield Buffer.from(JSON.stringify(record));
  }
}

async function* asyncRecords(count) {
  yield* secretRecords(count);
}

/** The bundle body's plaintext: u32 BE length + record, cut in 64 KiB chunks (last: the rest). */
function* plaintextChunks(count) {
  const chunk = Buffer.alloc(CHUNK_SIZE);
  const prefix = Buffer.alloc(4);
  let filled = 0;
  function* put(bytes) {
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(bytes.length - offset, CHUNK_SIZE - filled);
      bytes.copy(chunk, filled, offset, offset + take);
      filled += take;
      offset += take;
      if (filled === CHUNK_SIZE) {
        filled = 0;
        yield chunk;
      }
    }
  }
  for (const record of secretRecords(count)) {
    prefix.writeUInt32BE(record.length);
    yield* put(prefix);
    yield* put(record);
  }
  yield chunk.subarray(0, filled);
}

async function rawPhase(dir, count) {
  const { loadSodium } = await dist("src/lib/sodium.js");
  const sodium = await loadSodium();
  const TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  const TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  const push = (state, plain, tag) =>
    sodium.crypto_secretstream_xchacha20poly1305_push(state, plain, ad, tag);
  const ad = new Uint8Array(32);
  const key = sodium.crypto_secretstream_xchacha20poly1305_keygen();
  let recordBytes = 0;
  for (const record of secretRecords(count)) recordBytes += record.length;
  const chunks = Math.ceil((recordBytes + 4 * count) / CHUNK_SIZE);

  // crypto alone: seal every chunk; then open every chunk (only the pulls timed)
  const plain = Buffer.alloc(CHUNK_SIZE, 0x5a);
  let started = performance.now();
  let sealer = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
  for (let i = 0; i < chunks; i++) push(sealer.state, plain, TAG_MESSAGE);
  const sealSeconds = secondsSince(started);
  sealer = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
  const opener = sodium.crypto_secretstream_xchacha20poly1305_init_pull(sealer.header, key);
  let pullMs = 0;
  for (let i = 0; i < chunks; i++) {
    const cipher = push(sealer.state, plain, TAG_MESSAGE);
    started = performance.now();
    sodium.crypto_secretstream_xchacha20poly1305_pull(opener, cipher, ad);
    pullMs += performance.now() - started;
  }

  // pipeline: the same records framed, sealed and written to a file; then read back and opened
  const file = join(dir, "raw.stream");
  started = performance.now();
  const out = createWriteStream(file);
  sealer = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
  out.write(sealer.header);
  let pending = null;
  for (const chunk of plaintextChunks(count)) {
    if (pending) await writeFramed(out, push(sealer.state, pending, TAG_MESSAGE));
    pending = Buffer.from(chunk);
  }
  await writeFramed(out, push(sealer.state, pending, TAG_FINAL));
  out.end();
  await once(out, "finish");
  const pipelineSealSeconds = secondsSince(started);

  started = performance.now();
  const handle = await open(file, "r");
  const header = Buffer.alloc(24);
  await handle.read(header, 0, 24, 0);
  const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
  const lengthBytes = Buffer.alloc(4);
  const cipher = Buffer.alloc(CHUNK_SIZE + 17);
  for (let position = 24; ; ) {
    await handle.read(lengthBytes, 0, 4, position);
    const length = lengthBytes.readUInt32BE(0);
    await handle.read(cipher, 0, length, position + 4);
    position += 4 + length;
    const result = sodium.crypto_secretstream_xchacha20poly1305_pull(
      state,
      cipher.subarray(0, length),
      ad,
    );
    if (!result) throw new Error("raw pull failed");
    if (result.tag === TAG_FINAL) break;
  }
  await handle.close();

  return {
    bytes: recordBytes,
    seal_seconds: sealSeconds,
    open_seconds: Number((pullMs / 1000).toFixed(3)),
    pipeline_seal_seconds: pipelineSealSeconds,
    pipeline_open_seconds: secondsSince(started),
    peak_rss_mb: peakRssMb(),
  };
}

async function writeFramed(out, cipher) {
  const framed = Buffer.allocUnsafe(4 + cipher.length);
  framed.writeUInt32BE(cipher.length, 0);
  framed.set(cipher, 4);
  if (!out.write(framed)) await once(out, "drain");
}

/** One key pair for every phase and round: the broker's and the recipient's at once. */
async function benchKeys(dir) {
  const keys = await dist("src/bundle/keys.js");
  const base = join(dir, "bench");
  try {
    return keys.readSecretKeyFile(`${base}.key`);
  } catch {
    const pair = await keys.generateBundleKeyPair();
    await keys.writeKeyFiles(base, pair);
    return pair;
  }
}

async function writePhase(dir, count) {
  const { writeBundle } = await dist("src/bundle/writer.js");
  const pair = await benchKeys(dir);
  let started = performance.now();
  for await (const _ of asyncRecords(count));
  const generationSeconds = secondsSince(started);

  const file = join(dir, "bench.bundle");
  started = performance.now();
  const result = await writeBundle({
    out: createWriteStream(file),
    header: {
      deployment: "bench",
      createdAt: new Date().toISOString(),
      counts: { secrets: count },
    },
    recipients: [pair],
    signer: pair,
    records: asyncRecords(count),
  });
  return {
    seconds: secondsSince(started),
    generation_seconds: generationSeconds,
    bytes: result.bytes,
    bundle_bytes: statSync(file).size,
    peak_rss_mb: peakRssMb(),
  };
}

async function readPhase(dir) {
  const { openBundle } = await dist("src/bundle/reader.js");
  const pair = await benchKeys(dir);
  let started = performance.now();
  const opened = await openBundle(join(dir, "bench.bundle"), { key: pair, trust: [pair] });
  let bytes = 0;
  for await (const record of opened.records()) bytes += record.length;
  const seconds = secondsSince(started);
  started = performance.now();
  await opened.verifyAll();
  return { seconds, bytes, verify_seconds: secondsSince(started), peak_rss_mb: peakRssMb() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [phase, dir, count] = process.argv.slice(2);
  const phases = { raw: rawPhase, write: writePhase, read: readPhase };
  process.stdout.write(JSON.stringify(await phases[phase](dir, Number(count))));
}

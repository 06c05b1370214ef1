/**
 * Runs `node bin/strongroom.js up ...` (and the other CLI commands) as child processes for
 * integration and compat tests. Needs the build in dist/ (npm test's pretest runs it).
 * `up` counts as started once it printed "strongroom is up" on stdout. `useUp` is the fixture
 * of a test file (or describe) that runs its tests against one `up` in a temp dir of its own.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { type Agent, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { waitFor } from "./ports.js";
import { REPO_ROOT } from "./repo-root.js";

export { REPO_ROOT };
export const BIN = join(REPO_ROOT, "bin", "strongroom.js");
/** The CLI with a SIGKILL after the rotation step named by STRONGROOM_CRASH_AT (test only). */
export const CRASHING_UP = join(REPO_ROOT, "test", "fixtures", "strongroom-crashing-up.mjs");
/** The CLI with a SIGKILL once a seed wrote STRONGROOM_CRASH_AFTER_SEED_WRITES secrets (test only). */
export const CRASHING_SEED_UP = join(REPO_ROOT, "test", "fixtures", "strongroom-crashing-seed.mjs");
export const EXAMPLE_MANIFEST = join(REPO_ROOT, "examples", "tripleo", "manifest.yaml");
export const EXAMPLE_PASSWORDS = join(REPO_ROOT, "examples", "tripleo", "overcloud-passwords.yaml");

const live = new Set<ChildProcess>();

/**
 * Collects a child's stdout and stderr as text and keeps it in `live` (the processes an exiting
 * test run still has to stop) until it closes.
 */
export function captureOutput(child: ChildProcess, live: Set<ChildProcess>) {
  live.add(child);
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => {
    out += text;
  });
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    err += text;
  });
  const closed = new Promise<number | null>((resolve) => {
    child.once("close", (code) => {
      live.delete(child);
      resolve(code);
    });
  });
  return { stdout: () => out, stderr: () => err, closed };
}
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** The parent's environment without Vault or strongroom variables that would change behaviour. */
function childEnv(stateDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(VAULT_|BAO_|STRONGROOM_|OS_)/.test(key)) env[key] = value;
  }
  return { ...env, STRONGROOM_STATE_DIR: stateDir };
}

export interface UpHandle {
  child: ChildProcess;
  stateDir: string;
  stdout(): string;
  stderr(): string;
  /** Sends the signal and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartUpOptions {
  readyTimeoutMs?: number;
  /** null: no --listen (a restart reuses its address) */
  listen?: string | null;
  /** Extra environment (VAULT_ADDR and VAULT_TOKEN for --vault external). */
  env?: Record<string, string>;
  /** Default the example; null: no --manifest (up uses the one the state dir holds). */
  manifest?: string | null;
  /** The script run instead of bin/strongroom.js (a test composition of the CLI). */
  entry?: string;
}

export async function startUp(
  stateDir: string,
  args: string[] = [],
  options: StartUpOptions = {},
): Promise<UpHandle> {
  const listen = options.listen === null ? [] : ["--listen", options.listen ?? "127.0.0.1:0"];
  const manifest =
    options.manifest === null ? [] : ["--manifest", options.manifest ?? EXAMPLE_MANIFEST];
  const entry = options.entry ?? BIN;
  const child = spawn(process.execPath, [entry, "up", ...manifest, ...listen, ...args], {
    cwd: REPO_ROOT,
    env: { ...childEnv(stateDir), ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const { stdout, stderr, closed } = captureOutput(child, live);
  let exited = false;
  void closed.then(() => {
    exited = true;
  });
  const handle: UpHandle = {
    child,
    stateDir,
    stdout,
    stderr,
    async stop(signal = "SIGTERM") {
      if (!exited) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const code = await closed;
      clearTimeout(timer);
      return code;
    },
  };
  try {
    await waitFor(
      async () => {
        if (exited)
          throw new Error(`strongroom up exited before serving; stderr:\n${stderr().slice(-3000)}`);
        return stdout().includes("strongroom is up");
      },
      {
        timeoutMs: options.readyTimeoutMs ?? 90_000,
        intervalMs: 100,
        what: "strongroom up to serve",
      },
    );
  } catch (error) {
    await handle.stop("SIGKILL");
    throw error;
  }
  return handle;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one CLI command against the state dir; never rejects on a non-zero exit. With `input`,
 * that is the command's whole stdin.
 */
export function runCli(stateDir: string, args: string[], input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: REPO_ROOT, env: childEnv(stateDir), timeout: 60_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        if (!error) return resolve({ code: 0, stdout, stderr });
        if (typeof error.code === "number") return resolve({ code: error.code, stdout, stderr });
        // Killed (a signal, the timeout) or never started: say so where a test looks.
        const how = error.signal ? `killed by ${error.signal}` : `${error.code ?? error.message}`;
        resolve({ code: 1, stdout, stderr: `${stderr}[runCli: strongroom ${args[0]} ${how}]` });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** What `up` starts with: its arguments (default: seed the example passwords), startUp's. */
export interface UpStart extends StartUpOptions {
  args?: string[];
}

export interface UpFixtureOptions {
  /** A function of root is called in beforeAll: for what earlier hooks make (a port, files). */
  start?: UpStart | ((root: string) => UpStart);
  /** beforeAll's timeout for starting `up`. */
  startTimeoutMs?: number;
  /** How afterAll stops `up`; default SIGKILL (the tests are done with it). */
  stopSignal?: NodeJS.Signals;
}

export interface UpFixture {
  /** The temp dir of the file's tests, removed by afterAll. */
  root: string;
  /** root/state: the state dir `up` and the commands use. */
  stateDir: string;
  /** A path in root. */
  at(name: string): string;
  /** The `up` beforeAll started (it may since have been stopped by a test). */
  up(): UpHandle;
  /** A CLI command against the state dir that must exit 0. */
  cli(args: string[], input?: string): Promise<CliResult>;
  /** A CLI command against the state dir, whatever its exit code. */
  run(args: string[], input?: string): Promise<CliResult>;
}

/**
 * Makes a temp dir (`<prefix>XXXXXX`) now, and registers, where it is called (a test file's top
 * level or a describe), a beforeAll that starts `up` on root/state and an afterAll that stops it
 * and removes the temp dir. Hooks registered before it run before `up` starts (their afterAll
 * after it stopped).
 */
export function useUp(prefix: string, options: UpFixtureOptions = {}): UpFixture {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const stateDir = join(root, "state");
  let handle: UpHandle | undefined;
  beforeAll(async () => {
    const start = typeof options.start === "function" ? options.start(root) : options.start;
    const { args = ["--seed", EXAMPLE_PASSWORDS], ...startOptions } = start ?? {};
    handle = await startUp(stateDir, args, startOptions);
  }, options.startTimeoutMs);
  afterAll(async () => {
    await handle?.stop(options.stopSignal ?? "SIGKILL");
    rmSync(root, { recursive: true, force: true });
  });
  const run = (args: string[], input?: string) => runCli(stateDir, args, input);
  return {
    root,
    stateDir,
    at: (name) => join(root, name),
    up() {
      if (!handle) throw new Error("strongroom up has not started (useUp's beforeAll)");
      return handle;
    },
    run,
    async cli(args, input) {
      const result = await run(args, input);
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
      return result;
    },
  };
}

export interface BrokerState {
  deployment: string;
  broker: { url: string; port: number };
  vault: { kind: string; addr: string; kvMount: string; caFile?: string };
  pid: number | null;
}

export const readState = (stateDir: string): BrokerState =>
  JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8")) as BrokerState;

export const operatorToken = (stateDir: string): string =>
  readFileSync(join(stateDir, "operator.token"), "utf8").trim();

export interface HttpsAnswer {
  status: number;
  text: string;
}

/** One HTTPS request trusting the state dir's CA, with an optional client identity or token. */
export function httpsRequest(
  url: string,
  options: {
    ca: string | Buffer;
    cert?: string | Buffer;
    key?: string | Buffer;
    token?: string;
    method?: string;
    body?: unknown;
    /** A keep-alive agent, to send several requests over one connection. */
    agent?: Agent;
  },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const payload =
      options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const req = request(
      url,
      {
        method: options.method ?? "GET",
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        ...(options.agent && { agent: options.agent }),
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(payload
            ? { "content-type": "application/json", "content-length": payload.length }
            : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** Pids of live `vault-server` processes whose command line names `dir`. */
export function vaultServerPids(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const zombie = / Z /.test(stat.slice(stat.lastIndexOf(")")));
      if (
        !zombie &&
        cmdline.includes("vault-server") &&
        cmdline.some((arg) => arg.startsWith(dir))
      ) {
        pids.push(Number(entry));
      }
    } catch {
      // the process went away while we looked
    }
  }
  return pids;
}

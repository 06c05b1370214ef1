/**
 * Starts `node bin/strongroom.js vault-server ...` as a child process for integration and
 * compat tests. Needs the build in dist/ (npm test's pretest runs it).
 *
 *   --dev (root token in VAULT_DEV_ROOT_TOKEN_ID)  plain HTTP, in memory, initialized, unsealed, KV v2 at secret/
 *   --storage DIR                plain HTTP (no --tls-cert), starts uninitialized and sealed
 *
 * The server counts as started once GET /v1/sys/health answers with any status (200 active,
 * 501 uninitialized, 503 sealed). Its output is collected for diagnostics, never printed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { listeningUrl } from "../../src/vault/server-process.js";
import { waitFor } from "./ports.js";
import { REPO_ROOT } from "./repo-root.js";
import { rawRequest } from "./vault-http.js";

const BIN = join(REPO_ROOT, "bin", "strongroom.js");
const BUILT_ENTRY = join(REPO_ROOT, "dist", "src", "cli", "main.js");
const STOP_GRACE_MS = 5_000;
const OUTPUT_CAP = 1 << 20;

export type VaultServerMode =
  | { mode: "dev"; rootToken?: string }
  | { mode: "storage"; dir: string };

export interface VaultServerOptions {
  /** Extra environment, merged over the parent's (whose VAULT_* and BAO_* are removed). */
  env?: Record<string, string>;
  /** How long to wait for /v1/sys/health to answer; default 30 s. */
  readyTimeoutMs?: number;
  /** Serve HTTPS with these files (`ca` verifies them); `addr` is then https://127.0.0.1:PORT. */
  tls?: { certFile: string; keyFile: string; ca: string };
  /** The address to listen on (default 127.0.0.1); clients still use 127.0.0.1. */
  listenHost?: string;
}

export interface VaultServerHandle {
  /** `http://127.0.0.1:PORT` */
  addr: string;
  port: number;
  /** The dev root token (always set in dev mode: one is generated when none is given). */
  rootToken?: string;
  process: ChildProcess;
  /** Sends `signal` (default SIGTERM), SIGKILL after 5 s; resolves with the exit code (null if killed). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL, as a crash would; resolves once the process is gone. */
  kill9(): Promise<void>;
  /** Everything the server wrote to stderr so far (last 1 MiB). */
  stderr(): string;
  /** Everything the server wrote to stdout so far (last 1 MiB). */
  stdout(): string;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killLeftoversOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

function childEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("VAULT_") && !key.startsWith("BAO_")) env[key] = value;
  }
  return { ...env, ...extra };
}

function collector(): { push(chunk: Buffer | string): void; text(): string } {
  let text = "";
  return {
    push(chunk) {
      text += typeof chunk === "string" ? chunk : chunk.toString("utf8");
      if (text.length > OUTPUT_CAP) text = text.slice(-OUTPUT_CAP);
    },
    text: () => text,
  };
}

/** The last lines of the server's output for an error message, without dev mode's credentials. */
function tail(text: string, lines = 20): string {
  return text
    .trimEnd()
    .split("\n")
    .filter((line) => !/^(Unseal Key|Root Token):/.test(line))
    .slice(-lines)
    .join("\n");
}

export async function startVaultServer(
  opts: VaultServerMode,
  extraArgs: string[] = [],
  options: VaultServerOptions = {},
): Promise<VaultServerHandle> {
  if (!existsSync(BUILT_ENTRY)) {
    throw new Error(`${BUILT_ENTRY} is missing: run \`npm run build\` (npm test's pretest does)`);
  }
  const tls = options.tls;
  const rootToken =
    opts.mode === "dev"
      ? (opts.rootToken ?? `dev-root-${randomBytes(12).toString("hex")}`)
      : undefined;
  // The root token goes through the environment: process arguments are visible to every user.
  const modeArgs = opts.mode === "dev" ? ["--dev"] : ["--storage", opts.dir];
  // Port 0: the server binds a free port itself and reports it (no port to race for).
  const listen = `${options.listenHost ?? "127.0.0.1"}:0`;
  const tlsArgs = tls ? ["--tls-cert", tls.certFile, "--tls-key", tls.keyFile] : [];
  const args = [BIN, "vault-server", ...modeArgs, "--listen", listen, ...tlsArgs, ...extraArgs];

  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...childEnv(options.env), ...(rootToken ? { VAULT_DEV_ROOT_TOKEN_ID: rootToken } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  killLeftoversOnExit();
  const out = collector();
  const err = collector();
  child.stdout?.on("data", (chunk: Buffer | string) => out.push(chunk));
  child.stderr?.on("data", (chunk: Buffer | string) => err.push(chunk));

  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const closed = new Promise<void>((resolve) => {
    child.once("error", (e) => {
      spawnError = e;
      exit ??= { code: null, signal: null };
      live.delete(child);
      resolve();
    });
    child.once("close", (code, signal) => {
      exit = { code, signal };
      live.delete(child);
      resolve();
    });
  });
  const running = () => exit === undefined && child.exitCode === null && child.signalCode === null;

  const stop = async (signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> => {
    if (running()) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await closed;
      clearTimeout(timer);
    } else {
      await closed;
    }
    return exit?.code ?? null;
  };
  const kill9 = async (): Promise<void> => {
    if (running()) child.kill("SIGKILL");
    await closed;
  };

  let port: number | undefined;
  void listeningUrl(child).then((url) => {
    port = Number(new URL(url).port);
  });
  const addrOf = (port: number) => `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  const what = "strongroom vault-server to answer /v1/sys/health";
  try {
    await waitFor(
      async () => {
        if (!running()) {
          await closed;
          const how = spawnError
            ? `could not start (${spawnError.message})`
            : `exited (code ${exit?.code}, signal ${exit?.signal})`;
          throw new Error(
            `strongroom vault-server ${how} before answering; stderr:\n${tail(err.text())}`,
          );
        }
        if (port === undefined) return false;
        try {
          await rawRequest(addrOf(port), { path: "/v1/sys/health", timeoutMs: 2_000, ca: tls?.ca });
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: options.readyTimeoutMs ?? 30_000, intervalMs: 50, what },
    );
  } catch (e) {
    await kill9();
    if (e instanceof Error && e.message.startsWith("timed out")) {
      e.message += `; args: ${args.slice(1).join(" ")}; stderr:\n${tail(err.text())}`;
    }
    throw e;
  }

  const boundPort = port as number;
  return {
    addr: addrOf(boundPort),
    port: boundPort,
    ...(rootToken !== undefined ? { rootToken } : {}),
    process: child,
    stop,
    kill9,
    stderr: () => err.text(),
    stdout: () => out.text(),
  };
}

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ERRORS, type StrongroomError } from "../lib/errors.js";
import { STRONGROOM_BIN } from "../lib/paths.js";
import { childEnvironment } from "../lib/run-argv.js";

/** A Vault server process that strongroom started and must stop. */
export interface ServerProcess {
  readonly addr: string;
  readonly child: ChildProcess;
  /** The last lines the server wrote to stderr, for error messages. */
  recentOutput(): string;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;

/** A port on 127.0.0.1 that was free a moment ago (for servers that cannot report their own). */
async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What `strongroom vault-server` writes to stderr once it listens, followed by its URL. */
export const VAULT_SERVER_LISTENING = "strongroom vault-server listening on ";

export interface EmbeddedServerOptions {
  /** Port to reuse (a restart keeps the address kits were given); default any free one. */
  port?: number;
  /** PEM files for HTTPS. */
  tls?: { certFile: string; keyFile: string };
  /** How long the server may take to listen; default 30 s. */
  listenTimeoutMs?: number;
  /** Called when `port` was taken and the server starts on another one. */
  onPortTaken?: (port: number) => void;
}

/**
 * Starts `strongroom vault-server --storage DIR` as a child process and resolves once it listens.
 * Without a port it binds port 0 and reports the one it got, so no other process can take the
 * port between choosing and binding it. A port to reuse may be taken (by another process, or by
 * the Vault of a broker killed a moment ago): then it starts once more on any free port. Its
 * stdin is a pipe it watches (--lifeline): should strongroom die without stopping it, the server
 * seals and exits.
 */
export async function spawnEmbeddedServer(
  storageDir: string,
  options: EmbeddedServerOptions = {},
): Promise<ServerProcess> {
  const started = await startEmbedded(storageDir, options.port ?? 0, options);
  if (!("portTaken" in started)) return started;
  options.onPortTaken?.(options.port ?? 0);
  const again = await startEmbedded(storageDir, 0, options);
  if ("portTaken" in again) throw serverExitedError(again.portTaken);
  return again;
}

async function startEmbedded(
  storageDir: string,
  port: number,
  options: EmbeddedServerOptions,
): Promise<ServerProcess | { portTaken: ServerProcess }> {
  const args = [
    STRONGROOM_BIN,
    "vault-server",
    "--storage",
    storageDir,
    "--listen",
    `127.0.0.1:${port}`,
    "--lifeline",
  ];
  if (options.tls) args.push("--tls-cert", options.tls.certFile, "--tls-key", options.tls.keyFile);
  const child = spawn(process.execPath, args, {
    stdio: ["pipe", "ignore", "pipe"],
    env: childEnvironment(),
  });
  const starting = track(child, "");
  const timeoutMs = options.listenTimeoutMs ?? 30_000;
  const outcome = await Promise.race([
    listeningUrl(child),
    once(child, "exit").then(
      () => "exited" as const,
      () => "exited" as const,
    ),
    sleep(timeoutMs, "timed out" as const, { ref: false }),
  ]);
  if (outcome === "timed out") {
    await starting.stop();
    throw ERRORS.STRONGROOM_ERR_VAULT_START(
      `the Vault server did not listen within ${timeoutMs} ms`,
    );
  }
  if (outcome === "exited") {
    if (port !== 0 && /EADDRINUSE/.test(starting.recentOutput())) return { portTaken: starting };
    throw serverExitedError(starting);
  }
  return { ...starting, addr: outcome };
}

/** The URL a `strongroom vault-server` child reports on stderr once it listens. */
export function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    let seen = "";
    child.stderr?.setEncoding("utf8").on("data", function seek(text: string) {
      seen += text;
      const at = seen.indexOf(VAULT_SERVER_LISTENING);
      const end = seen.indexOf(" ", at + VAULT_SERVER_LISTENING.length);
      if (at === -1 || end === -1) {
        seen = seen.slice(-VAULT_SERVER_LISTENING.length - 200);
        return;
      }
      child.stderr?.off("data", seek);
      resolve(seen.slice(at + VAULT_SERVER_LISTENING.length, end));
    });
  });
}

/**
 * Starts a real `vault`/`bao` binary with a generated HCL config: raft storage inside the state
 * dir, a loopback listener and the cluster address raft requires.
 */
export async function spawnVaultBinary(binary: string, stateDir: string): Promise<ServerProcess> {
  const port = await freeLoopbackPort();
  const clusterPort = await freeLoopbackPort();
  const configFile = join(stateDir, "vault-server.hcl");
  const config = [
    `storage "raft" {`,
    `  path    = "${join(stateDir, "raft")}"`,
    `  node_id = "strongroom"`,
    `}`,
    `listener "tcp" {`,
    `  address     = "127.0.0.1:${port}"`,
    `  tls_disable = true`,
    `}`,
    `api_addr      = "http://127.0.0.1:${port}"`,
    `cluster_addr  = "http://127.0.0.1:${clusterPort}"`,
    `disable_mlock = true`,
    `ui            = false`,
    ``,
  ].join("\n");
  writeFileSync(configFile, config, { mode: 0o600 });
  const child = spawn(binary, ["server", `-config=${configFile}`], {
    stdio: ["ignore", "ignore", "pipe"],
    env: childEnvironment(),
  });
  return track(child, `http://127.0.0.1:${port}`);
}

function track(child: ChildProcess, addr: string): ServerProcess {
  const lines: string[] = [];
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    lines.push(...text.split("\n").filter((l) => l.trim() !== ""));
    lines.splice(0, Math.max(0, lines.length - 20));
  });
  const exited = once(child, "exit");
  child.stdin?.on("error", () => {});
  child.once("error", (error) => lines.push(`spawn failed: ${error.message}`));
  return {
    addr,
    child,
    recentOutput: () => lines.join("\n"),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function serverExitedError(server: ServerProcess): StrongroomError {
  return ERRORS.STRONGROOM_ERR_VAULT_START(
    `the Vault server exited during start-up: ${server.recentOutput().split("\n").pop() ?? "no output"}`,
  );
}

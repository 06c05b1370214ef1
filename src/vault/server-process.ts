import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
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

/** A free port on 127.0.0.1: `preferred` when it is free, else one the kernel picks. */
export async function freeLoopbackPort(preferred = 0): Promise<number> {
  const server = createServer();
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
  await listen(preferred).catch(() => listen(0));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface EmbeddedServerOptions {
  /** Port to reuse (a restart keeps the address kits were given); a free one when taken. */
  port?: number;
  /** PEM files for HTTPS. */
  tls?: { certFile: string; keyFile: string };
}

/**
 * Starts `strongroom vault-server --storage DIR` as a child process. Its stdin is a pipe it
 * watches (--lifeline): should strongroom die without stopping it, the server seals and exits.
 */
export async function spawnEmbeddedServer(
  storageDir: string,
  options: EmbeddedServerOptions = {},
): Promise<ServerProcess> {
  const port = await freeLoopbackPort(options.port);
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
  return track(child, `${options.tls ? "https" : "http"}://127.0.0.1:${port}`);
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

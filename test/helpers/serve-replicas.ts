/**
 * The scale-out shape for integration tests and the bench: strongroom's embedded Vault over TLS
 * with persistent storage (initialized and unsealed here, as an operator would), `bootstrap`
 * against it, and `serve` replicas as child processes, each in its own process group (stopped,
 * or killed with -9, as a group). `startReplicaSite` is the Vault-and-bootstrap preamble of the
 * replica tests. Needs the build in dist/.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCertificateAuthority, issueServerCertificate } from "../../src/lib/pki.js";
import { waitFor } from "./ports.js";
import { BIN, captureOutput, REPO_ROOT } from "./strongroom-up.js";
import { rawRequest } from "./vault-http.js";
import { startVaultServer, type VaultServerHandle } from "./vault-server-process.js";

export interface TlsVault {
  server: VaultServerHandle;
  addr: string;
  caFile: string;
  ca: string;
  rootToken: string;
}

/** The parent's environment without variables that would change strongroom's behaviour. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(VAULT_|BAO_|STRONGROOM_|OS_)/.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

/** `vault-server --storage` with TLS on `listenHost`, initialized (1 share) and unsealed. */
export async function startTlsVault(
  dir: string,
  options: { listenHost?: string } = {},
): Promise<TlsVault> {
  const tlsDir = join(dir, "vault-tls");
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
  const ca = await createCertificateAuthority("vault test CA");
  const cert = await issueServerCertificate(ca, []);
  const files = {
    ca: join(tlsDir, "ca.pem"),
    certFile: join(tlsDir, "server.pem"),
    keyFile: join(tlsDir, "server.key"),
  };
  writeFileSync(files.ca, ca.cert, { mode: 0o600 });
  writeFileSync(files.certFile, cert.cert, { mode: 0o600 });
  writeFileSync(files.keyFile, cert.key, { mode: 0o600 });
  const server = await startVaultServer({ mode: "storage", dir: join(dir, "vault-storage") }, [], {
    tls: { certFile: files.certFile, keyFile: files.keyFile, ca: ca.cert },
    ...(options.listenHost && { listenHost: options.listenHost }),
  });
  const init = await rawRequest(server.addr, {
    method: "PUT",
    path: "/v1/sys/init",
    body: { secret_shares: 1, secret_threshold: 1 },
    ca: ca.cert,
  });
  if (init.status !== 200) throw new Error(`vault init: ${init.status} ${init.text}`);
  const unseal = await rawRequest(server.addr, {
    method: "PUT",
    path: "/v1/sys/unseal",
    body: { key: init.json.keys_base64[0] },
    ca: ca.cert,
  });
  if (unseal.json?.sealed !== false) throw new Error(`vault unseal: ${unseal.text}`);
  return {
    server,
    addr: server.addr,
    caFile: files.ca,
    ca: ca.cert,
    rootToken: init.json.root_token,
  };
}

/** One service, one generated secret and one plain option: what a replica test serves. */
export const demoManifest = (deployment: string): string => `deployment:
  name: ${deployment}
secrets:
  DemoPassword:
    generator: { kind: alphanumeric, length: 24 }
services:
  demo:
    options:
      DEFAULT:
        password: "{{ secret.DemoPassword }}"
        region: { type: string, default: RegionOne }
`;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** One strongroom command with a clean environment plus `env`; never rejects on exit codes. */
export function runStrongroom(
  args: string[],
  env: Record<string, string> = {},
  cwd = REPO_ROOT,
  timeoutMs = 120_000,
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: cleanEnv(env), timeout: timeoutMs, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        const killed = error?.signal
          ? `[killed by ${error.signal} after at most ${timeoutMs} ms]`
          : "";
        resolve({ code, stdout, stderr: `${stderr}${killed}` });
      },
    );
  });
}

/** `bootstrap --json` with the Vault's root token as the admin token. */
export async function bootstrap(
  vault: TlsVault,
  manifest: string,
  out: string,
  timeoutMs?: number,
): Promise<Record<string, unknown>> {
  const result = await runStrongroom(
    [
      "bootstrap",
      "--manifest",
      manifest,
      "--vault-addr",
      vault.addr,
      "--vault-ca",
      vault.caFile,
    ].concat(["--out", out, "--json"]),
    { VAULT_TOKEN: vault.rootToken },
    REPO_ROOT,
    timeoutMs,
  );
  if (result.code !== 0) throw new Error(`bootstrap failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

export interface ReplicaSite {
  /** The temp dir: the manifest, bootstrap's output, the Vault's TLS files and storage. */
  root: string;
  /** root/manifest.yaml */
  manifest: string;
  /** root/out: what bootstrap writes and serve reads. */
  out: string;
  vault: TlsVault;
  /** Stops the Vault and removes root. */
  remove(): Promise<void>;
}

/**
 * A temp dir (`<prefix>XXXXXX`) with a TLS Vault started in it, then its manifest.yaml (the text
 * `manifestText` gives for the dir, once the Vault listens) and, unless `bootstrap` is false,
 * `bootstrap` into root/out.
 */
export async function startReplicaSite(
  prefix: string,
  manifestText: (root: string) => string | Promise<string>,
  options: { listenHost?: string; bootstrap?: boolean } = {},
): Promise<ReplicaSite> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const manifest = join(root, "manifest.yaml");
  const out = join(root, "out");
  let vault: TlsVault | undefined;
  const remove = async () => {
    await vault?.server.stop();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    vault = await startTlsVault(root, options);
    writeFileSync(manifest, await manifestText(root));
    if (options.bootstrap !== false) await bootstrap(vault, manifest, out);
    return { root, manifest, out, vault, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

export interface ServeReplica {
  child: ChildProcess;
  url: string;
  port: number;
  stdout(): string;
  stderr(): string;
  /** The JSON lines serve logged on stdout, parsed. */
  records(): Array<Record<string, unknown>>;
  /** SIGKILL to the replica's process group, as a crash; resolves once it is gone. */
  kill9(): Promise<void>;
  /** SIGTERM to the process group; resolves with the exit code. */
  stop(): Promise<number | null>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) if (child.pid) process.kill(-child.pid, "SIGKILL");
});

/** The argv `serve` needs for a bootstrap output dir. */
export function serveArgs(
  vault: TlsVault,
  manifest: string,
  out: string,
  listen: string,
): string[] {
  return [
    ...["serve", "--manifest", manifest, "--vault-addr", vault.addr, "--vault-ca", vault.caFile],
    ...[
      "--listen",
      listen,
      "--tls-cert",
      join(out, "server.pem"),
      "--tls-key",
      join(out, "server.key"),
    ],
    ...["--client-ca", join(out, "ca.pem"), "--operator-token-file", join(out, "operator-token")],
    ...["--signer-key", join(out, "broker-bundle.key")],
  ];
}

export async function startServe(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; readyTimeoutMs?: number } = {},
): Promise<ServeReplica> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: cleanEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const { stdout, stderr, closed } = captureOutput(child, live);
  const records = () =>
    stdout()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.pid && child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid, signal);
    }
  };
  let url = "";
  await waitFor(
    async () => {
      if (child.exitCode !== null)
        throw new Error(`serve exited ${child.exitCode}: ${stderr()}${stdout()}`);
      const listening = records().find((r) => r.msg === "broker listening (HTTPS, mTLS or token)");
      if (listening) url = String(listening.url);
      return url !== "";
    },
    { timeoutMs: options.readyTimeoutMs ?? 60_000, intervalMs: 50, what: "serve to listen" },
  ).catch((error: Error) => {
    signalGroup("SIGKILL");
    throw error;
  });
  return {
    child,
    url,
    port: Number(new URL(url).port),
    stdout,
    stderr,
    records,
    async kill9() {
      signalGroup("SIGKILL");
      await closed;
    },
    async stop() {
      signalGroup("SIGTERM");
      return closed;
    },
  };
}

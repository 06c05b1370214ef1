/**
 * `strongroom vault-server --config FILE` (a Vault-style HCL server config) and the command's
 * CLI contract: raft and file storage behave like --storage, a TLS listener serves HTTPS to
 * node-vault, the `vault` shim stands in for `vault server -config=FILE`, and bad configs and
 * bad invocations fail with one line on stderr and the documented exit codes.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import nodeVault from "node-vault";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, waitFor } from "../helpers/ports.js";
import { rawRequest } from "../helpers/vault-http.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(REPO_ROOT, "bin", "strongroom.js");
const SHIM = join(REPO_ROOT, "test", "fixtures", "vault-shim", "vault");

interface Running {
  addr: string;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<number | null>;
}

let tmp: string;
const running = new Set<Running>();

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("VAULT_") && !key.startsWith("BAO_")) env[key] = value;
  }
  return env;
}

/** Starts `command args` and waits until `addr`/v1/sys/health answers (any status). */
async function startServer(
  command: string,
  args: string[],
  addr: string,
  ca?: string,
): Promise<Running> {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: childEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  child.stdout?.resume();
  const closed = new Promise<number | null>((resolve) =>
    child.once("close", (code) => resolve(code)),
  );
  let exited = false;
  void closed.then(() => {
    exited = true;
  });
  const handle: Running = {
    addr,
    child,
    stderr: () => stderr,
    async stop() {
      if (!exited) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        const code = await closed;
        clearTimeout(timer);
        running.delete(handle);
        return code;
      }
      running.delete(handle);
      return closed;
    },
  };
  running.add(handle);
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`server exited early; stderr:\n${stderr}`);
        try {
          await rawRequest(addr, {
            path: "/v1/sys/health",
            ...(ca ? { ca } : {}),
            timeoutMs: 2_000,
          });
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, intervalMs: 50, what: `${addr}/v1/sys/health` },
    );
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return handle;
}

function writeConfig(name: string, text: string): string {
  const file = join(tmp, name);
  writeFileSync(file, text);
  return file;
}

function runCli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env: childEnv(),
    encoding: "utf8",
    timeout: 30_000,
  });
}

/** init 3/2 and unseal; returns the root token and the shares. */
async function initAndUnseal(client: ReturnType<typeof nodeVault>) {
  const init = await client.init({ secret_shares: 3, secret_threshold: 2 });
  await client.unseal({ key: init.keys[0] });
  const status = await client.unseal({ key: init.keys_base64[2] });
  expect(status.sealed).toBe(false);
  return { rootToken: init.root_token as string, keys: init.keys as string[] };
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "strongroom-config-it-"));
});

afterAll(async () => {
  await Promise.all([...running].map((server) => server.stop()));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("vault-server --config with a Vault HCL file", () => {
  it("raft storage: the full recipe config works like --storage, across a restart", async () => {
    const port = await freePort();
    const addr = `http://127.0.0.1:${port}`;
    const file = writeConfig(
      "raft.hcl",
      `storage "raft" {
  path    = "${join(tmp, "raft-data")}"
  node_id = "node-1"
}

listener "tcp" {
  address     = "127.0.0.1:${port}"
  tls_disable = true
}

api_addr      = "${addr}"
cluster_addr  = "http://127.0.0.1:${port + 1}"
disable_mlock = true
ui            = false
`,
    );
    let server = await startServer(process.execPath, [BIN, "vault-server", "--config", file], addr);
    expect((await rawRequest(addr, { path: "/v1/sys/health" })).status).toBe(501);
    const client = nodeVault({ endpoint: addr });
    expect(await client.status()).toMatchObject({
      initialized: false,
      sealed: true,
      storage_type: "raft",
    });
    const { rootToken, keys } = await initAndUnseal(client);
    const root = nodeVault({ endpoint: addr, token: rootToken });
    await root.mount({ mount_point: "secret", type: "kv", options: { version: "2" } });
    await root.write("secret/data/cfg", { data: { from: "raft" } });
    expect(await server.stop()).toBe(0);

    server = await startServer(process.execPath, [BIN, "vault-server", "--config", file], addr);
    expect((await rawRequest(addr, { path: "/v1/sys/health" })).status).toBe(503);
    await client.unseal({ key: keys[1] });
    await client.unseal({ key: keys[2] });
    expect((await root.read("secret/data/cfg")).data.data).toEqual({ from: "raft" });
    expect(await server.stop()).toBe(0);
  });

  it("file storage through the `vault` shim stands in for `vault server -config=FILE`", async () => {
    const port = await freePort();
    const addr = `http://127.0.0.1:${port}`;
    const file = writeConfig(
      "file.hcl",
      `storage "file" { path = "${join(tmp, "file-data")}" }\nlistener "tcp" {\n  address = "127.0.0.1:${port}"\n  tls_disable = "true"\n}\n`,
    );
    const server = await startServer(SHIM, ["server", `-config=${file}`], addr);
    const client = nodeVault({ endpoint: addr });
    expect(await client.status()).toMatchObject({
      initialized: false,
      sealed: true,
      storage_type: "file",
    });
    const { rootToken } = await initAndUnseal(client);
    const root = nodeVault({ endpoint: addr, token: rootToken });
    expect((await root.tokenLookupSelf()).data.policies).toEqual(["root"]);
    expect(await server.stop()).toBe(0);
  });

  it("a TLS listener serves HTTPS; node-vault connects with requestOptions.ca", async () => {
    const cert = join(tmp, "cert.pem");
    const key = join(tmp, "key.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ],
      { stdio: "ignore" },
    );
    const ca = readFileSync(cert, "utf8");
    const port = await freePort();
    const addr = `https://127.0.0.1:${port}`;
    const file = writeConfig(
      "tls.hcl",
      `listener "tcp" {
  address       = "127.0.0.1:${port}"
  tls_cert_file = "${cert}"
  tls_key_file  = "${key}"
}
storage "inmem" {}
`,
    );
    const server = await startServer(
      process.execPath,
      [BIN, "vault-server", "--config", file],
      addr,
      ca,
    );
    const client = nodeVault({ endpoint: addr, requestOptions: { ca } });
    expect(await client.health()).toMatchObject({ initialized: false, sealed: true });
    expect((await client.status()).storage_type).toBe("inmem");
    const { rootToken } = await initAndUnseal(client);
    const root = nodeVault({ endpoint: addr, token: rootToken, requestOptions: { ca } });
    await root.mount({ mount_point: "secret", type: "kv", options: { version: "2" } });
    await root.write("secret/data/tls", { data: { over: "https" } });
    expect((await root.read("secret/data/tls")).data.data).toEqual({ over: "https" });

    // Without the CA the self-signed certificate is refused; plain HTTP gets no Vault answer.
    const untrusted = nodeVault({ endpoint: addr });
    await expect(untrusted.status()).rejects.toThrow(/self[- ]signed|certificate/i);
    const plain = await rawRequest(`http://127.0.0.1:${port}`, {
      path: "/v1/sys/health",
      timeoutMs: 3_000,
    }).catch((error: Error) => error);
    expect(plain instanceof Error || plain.status >= 400).toBe(true);
    expect(await server.stop()).toBe(0);

    // The same certificate through --storage DIR --tls-cert --tls-key.
    const flagsPort = await freePort();
    const flagsAddr = `https://127.0.0.1:${flagsPort}`;
    const flagsServer = await startServer(
      process.execPath,
      [
        BIN,
        "vault-server",
        "--storage",
        join(tmp, "tls-flags-data"),
        "--listen",
        `127.0.0.1:${flagsPort}`,
        "--tls-cert",
        cert,
        "--tls-key",
        key,
      ],
      flagsAddr,
      ca,
    );
    const flagsClient = nodeVault({ endpoint: flagsAddr, requestOptions: { ca } });
    expect(await flagsClient.status()).toMatchObject({
      initialized: false,
      sealed: true,
      storage_type: "file",
    });
    expect(await flagsServer.stop()).toBe(0);
  });
});

describe("the vault-server command line", () => {
  function expectOneLineFailure(result: ReturnType<typeof runCli>, exitCode: number): string {
    expect(result.status, result.stderr).toBe(exitCode);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines, result.stderr).toHaveLength(1);
    return lines[0]!;
  }

  it("a bad config exits 1 with one line on stderr naming the file", () => {
    const configs: Record<string, string> = {
      "syntax.hcl": 'listener "tcp" { address = ',
      "unknown-key.hcl":
        'storage "file" { path = "/tmp/x" }\nlistener "tcp" { address = "127.0.0.1:1" tls_disable = true }\nplugin_directory = "/x"\n',
      "no-storage.hcl": 'listener "tcp" { address = "127.0.0.1:1"\n tls_disable = true }\n',
      "bad-storage.hcl":
        'storage "consul" { path = "x" }\nlistener "tcp" { address = "127.0.0.1:1"\n tls_disable = true }\n',
      "no-tls-files.hcl": 'storage "inmem" {}\nlistener "tcp" { address = "127.0.0.1:1" }\n',
    };
    for (const [name, text] of Object.entries(configs)) {
      const file = writeConfig(name, text);
      const line = expectOneLineFailure(runCli(["vault-server", "--config", file]), 1);
      expect(line, name).toContain(file);
    }
    const missing = join(tmp, "does-not-exist.hcl");
    expect(expectOneLineFailure(runCli(["vault-server", "--config", missing]), 1)).toContain(
      missing,
    );
  });

  it("without a mode, or with two, it exits 2 with one line", () => {
    expect(expectOneLineFailure(runCli(["vault-server"]), 2)).toMatch(/--dev|--storage|--config/);
    expectOneLineFailure(runCli(["vault-server", "--dev", "--storage", join(tmp, "x")]), 2);
  });

  it("refuses plain HTTP on a non-loopback address (exit 2) and half a TLS pair", () => {
    expect(
      expectOneLineFailure(runCli(["vault-server", "--dev", "--listen", "0.0.0.0:0"]), 2),
    ).toMatch(/plain HTTP/);
    expectOneLineFailure(runCli(["vault-server", "--dev", "--tls-cert", join(tmp, "cert.pem")]), 2);
  });

  it("--help exits 0 and documents the modes", () => {
    const result = runCli(["vault-server", "--help"]);
    expect(result.status).toBe(0);
    for (const flag of ["--dev", "--storage", "--config", "--listen"])
      expect(result.stdout).toContain(flag);
  });
});

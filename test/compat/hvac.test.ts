/**
 * Compatibility: Debian's python3-hvac (0.11.2), run as a subprocess with /usr/bin/python3,
 * drives a live server through test/compat/hvac_contract.py (init/unseal, health, mounts,
 * KV v2 and v1, policies, AppRole, tokens, seal). The script prints one JSON object with a
 * result per check; every check must be "ok".
 *
 * Targets: strongroom's embedded server in dev mode and in persistent mode (fresh storage,
 * initialized and unsealed by hvac), and, when VAULT_BIN or BAO_BIN names a real binary,
 * that binary started like `vault server -config=FILE` with raft storage in a temp dir.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { freePort, waitFor } from "../helpers/ports.js";
import { describeWithPython, type PythonResult, runPythonJson } from "../helpers/python.js";
import { startVaultServer, type VaultServerHandle } from "../helpers/vault-server-process.js";

const SCRIPT = "test/compat/hvac_contract.py";
const SCRIPT_TIMEOUT_MS = 180_000;

interface ContractOutput {
  checks: Record<string, string>;
  failed: string[];
  info: Record<string, unknown>;
}

/** Checks that must be present in every run (a renamed or dropped check fails the test). */
const CORE_CHECKS = [
  "health.active_200",
  "mounts.enable_kv2_string_version",
  "mounts.enable_kv2_integer_version",
  "mounts.enable_kv1",
  "mounts.list_and_options",
  "policy.create_or_update_hcl",
  "policy.read_policy",
  "policy.list_policies",
  "policy.delete_policy",
  "approle.enable_auth_method",
  "approle.create_or_update_approle",
  "approle.read_role_id",
  "approle.generate_secret_id",
  "approle.login",
  "approle.token_reads_what_policy_allows",
  "approle.token_Forbidden_outside_policy",
  "token.create",
  "token.lookup_self",
  "token.lookup",
  "token.renew_self",
  "token.num_uses_exhausted_Forbidden",
  "token.is_authenticated",
  "token.revoke_self",
  "seal.seal_then_is_sealed",
  "seal.sealed_requests_VaultDown",
];
const KV2_CHECKS = [
  "create",
  "create_with_cas",
  "cas_mismatch_InvalidRequest",
  "read_latest",
  "read_secret_version_with_version",
  "read_missing_InvalidPath",
  "patch_get_then_post",
  "list_secrets_LIST_verb",
  "legacy_Client_list_GET",
  "delete_latest_version",
  "undelete_secret_versions",
  "delete_secret_versions",
  "destroy_secret_versions",
  "read_secret_metadata",
  "update_metadata",
  "delete_metadata_and_all_versions",
  "configure_and_read_configuration",
];
const KV1_CHECKS = ["create_get_then_post", "update_get_then_put", "list_secrets", "delete_secret"];
const FRESH_CHECKS = [
  "init.fresh_not_initialized",
  "health.uninitialized_501",
  "init.initialize_5_3",
  "seal_status.sealed_after_init",
  "health.sealed_503",
  "sealed.data_request_raises_VaultDown",
  "unseal.progress_and_reset",
  "unseal.submit_unseal_keys",
  "seal.unseal_base64_data_intact",
];

async function runContract(
  addr: string,
  mode: "dev" | "fresh",
  token?: string,
): Promise<{ result: PythonResult; output: ContractOutput }> {
  const env: Record<string, string> = { VAULT_ADDR: addr };
  if (token !== undefined) env["VAULT_TOKEN"] = token;
  return runPythonJson<ContractOutput>(SCRIPT, ["--mode", mode], {
    env,
    timeoutMs: SCRIPT_TIMEOUT_MS,
  });
}

/** Asserts exit 0 and every check ok; failures are shown by name with their messages. */
function expectAllOk(
  { result, output }: { result: PythonResult; output: ContractOutput },
  mode: "dev" | "fresh",
  serverLog: () => string,
): void {
  const failures = Object.fromEntries(
    Object.entries(output.checks).filter(([, outcome]) => outcome !== "ok"),
  );
  expect(
    failures,
    `hvac checks failed; script stderr:\n${result.stderr.slice(-6000)}\nserver log:\n${serverLog().slice(-3000)}`,
  ).toEqual({});
  expect(result.code, result.stderr.slice(-2000)).toBe(0);

  const mounts = output.info["mounts"] as { kv2s: string; kv2i: string; kv1: string };
  const expected = [
    ...CORE_CHECKS,
    ...(mode === "fresh" ? FRESH_CHECKS : ["init.dev_initialized_unsealed"]),
    ...KV2_CHECKS.flatMap((c) => [`kv2[${mounts.kv2s}].${c}`, `kv2[${mounts.kv2i}].${c}`]),
    ...KV1_CHECKS.map((c) => `kv1[${mounts.kv1}].${c}`),
  ];
  expect(Object.keys(output.checks)).toEqual(expect.arrayContaining(expected));
  expect(output.info["hvac_version"]).toBe("0.11.2");
}

describeWithPython(
  ["hvac"],
  "hvac 0.11.2 (Debian python3-hvac) against strongroom vault-server",
  () => {
    let server: VaultServerHandle | undefined;
    let storageDir: string | undefined;

    afterEach(async () => {
      await server?.stop();
      server = undefined;
      if (storageDir) await rm(storageDir, { recursive: true, force: true });
      storageDir = undefined;
    });

    it("dev mode: the whole contract passes with the dev root token", async () => {
      server = await startVaultServer({ mode: "dev" });
      const run = await runContract(server.addr, "dev", server.rootToken!);
      expectAllOk(run, "dev", server.stderr);
    });

    it("persistent mode: hvac initializes (5/3), unseals, and the whole contract passes", async () => {
      storageDir = await mkdtemp(join(tmpdir(), "strongroom-hvac-"));
      server = await startVaultServer({ mode: "storage", dir: storageDir });
      const run = await runContract(server.addr, "fresh");
      expectAllOk(run, "fresh", server.stderr);
    });
  },
);

// A real Vault or OpenBao binary, when one is given. There is none on the development machine
// (neither Debian nor npm ships one), so without VAULT_BIN/BAO_BIN this case is not registered
// at all rather than faked: the embedded server is never substituted for the real thing here.
const realBinary = [
  ["VAULT_BIN", process.env["VAULT_BIN"]],
  ["BAO_BIN", process.env["BAO_BIN"]],
].find((entry): entry is [string, string] => typeof entry[1] === "string" && entry[1] !== "");

if (realBinary) {
  const [variable, bin] = realBinary;
  describeWithPython(["hvac"], `hvac 0.11.2 against a real binary (${variable}=${bin})`, () => {
    let real: RealServer | undefined;

    afterEach(async () => {
      await real?.stop();
      real = undefined;
    });

    it("server -config with raft storage: the same contract passes", async () => {
      expect(existsSync(bin), `${variable}=${bin} does not exist`).toBe(true);
      real = await startRealServer(bin);
      const run = await runContract(real.addr, "fresh");
      expectAllOk(run, "fresh", real.log);
    });
  });
}

interface RealServer {
  addr: string;
  log(): string;
  stop(): Promise<void>;
}

/** `<bin> server -config=FILE`: raft storage and a plain-HTTP listener on 127.0.0.1. */
async function startRealServer(bin: string): Promise<RealServer> {
  const dir = await mkdtemp(join(tmpdir(), "strongroom-real-vault-"));
  const port = await freePort();
  const clusterPort = await freePort();
  const addr = `http://127.0.0.1:${port}`;
  const config = join(dir, "server.hcl");
  await writeFile(
    config,
    [
      `storage "raft" {`,
      `  path    = ${JSON.stringify(join(dir, "raft"))}`,
      `  node_id = "strongroom-compat"`,
      `}`,
      `listener "tcp" {`,
      `  address     = "127.0.0.1:${port}"`,
      `  tls_disable = true`,
      `}`,
      `api_addr      = "${addr}"`,
      `cluster_addr  = "http://127.0.0.1:${clusterPort}"`,
      `disable_mlock = true`,
      `ui            = false`,
      ``,
    ].join("\n"),
  );
  await mkdir(join(dir, "raft"));

  const env: NodeJS.ProcessEnv = { HOME: dir };
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("VAULT_") && !key.startsWith("BAO_") && key !== "HOME") env[key] = value;
  }
  const child: ChildProcess = spawn(bin, ["server", `-config=${config}`], {
    cwd: dir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const collect = (chunk: Buffer) => {
    log = (log + chunk.toString("utf8")).slice(-1 << 20);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<void>((resolve) => {
    child.once("close", () => resolve());
    child.once("error", (error) => {
      log += `\nspawn error: ${error.message}`;
      resolve();
    });
  });
  const running = () => child.exitCode === null && child.signalCode === null;

  const stop = async () => {
    if (running()) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    } else {
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      async () => {
        if (!running())
          throw new Error(`${bin} exited before answering; output:\n${log.slice(-3000)}`);
        try {
          const res = await fetch(`${addr}/v1/sys/health`, { signal: AbortSignal.timeout(2_000) });
          await res.arrayBuffer();
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `${bin} to answer ${addr}/v1/sys/health` },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { addr, log: () => log, stop };
}

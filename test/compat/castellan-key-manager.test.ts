/**
 * Compatibility: castellan 4.0.0's Vault key manager (Debian python3-castellan, configured via
 * oslo.config with [key_manager] backend = vault) against strongroom's embedded server, through
 * test/compat/castellan_kv.py run with /usr/bin/python3. The script prints one JSON object
 * with a result per check; every check must be "ok".
 *
 * castellan's wire format (its vault_key_manager.py): POST {mount}/data/<uuid hex> with
 * {"data": {type, value (hex), algorithm, bit_length, name, created}}, GET/DELETE the same
 * path, GET {mount}/metadata/?list=true, POST auth/approle/login.
 */
import { afterEach, expect, it } from "vitest";
import { describeWithPython, type PythonResult, runPythonJson } from "../helpers/python.js";
import { startVaultServer, type VaultServerHandle } from "../helpers/vault-server-process.js";

const SCRIPT = "test/compat/castellan_kv.py";

/** Passphrases with characters that break naive quoting, formatting or encoding. */
const PASSPHRASES = [
  "plain-passphrase",
  // oslo.config would interpolate these in a config file; castellan's values never pass one.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal "${USER}" is the point
  "pa$$word-$HOME-${USER}",
  "100% %s %(name)s %%",
  `it's "double" and 'single' \`back\``,
  "grüße-日本語-🔑-ñ",
  "line1\nline2\ttab\\backslash",
  "",
];

interface ScriptOutput {
  checks: Record<string, string>;
  failed: string[];
  info: Record<string, unknown>;
}

interface Spec {
  passphrases?: string[];
  seeded?: { id: string; value: string; name: string; created: number }[];
  forbidden?: string[];
  missing?: string[];
  create_key?: boolean;
  expect_login_failure?: boolean;
  expect_unavailable?: boolean;
}

async function runCastellan(
  env: Record<string, string>,
  spec: Spec,
): Promise<{ result: PythonResult; output: ScriptOutput }> {
  return runPythonJson<ScriptOutput>(SCRIPT, [], {
    env,
    input: JSON.stringify(spec),
    timeoutMs: 120_000,
  });
}

function expectAllOk(
  run: { result: PythonResult; output: ScriptOutput },
  expectedChecks: string[],
  server: VaultServerHandle,
): void {
  const failures = Object.fromEntries(
    Object.entries(run.output.checks).filter(([, outcome]) => outcome !== "ok"),
  );
  expect(
    failures,
    `castellan checks failed; stderr:\n${run.result.stderr.slice(-6000)}\n` +
      `castellan log: ${JSON.stringify(run.output.info["log"] ?? [], null, 1)}\n` +
      `server log:\n${server.stderr().slice(-3000)}`,
  ).toEqual({});
  expect(run.result.code, run.result.stderr.slice(-2000)).toBe(0);
  expect(Object.keys(run.output.checks)).toEqual(expect.arrayContaining(expectedChecks));
}

const passphraseChecks = PASSPHRASES.flatMap((_, i) => [
  `passphrase[${i}].store`,
  `passphrase[${i}].get_byte_exact`,
]);

/** Minimal Vault HTTP client for the setup castellan does not do itself. */
async function vault(
  server: VaultServerHandle,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown> | undefined> {
  const res = await fetch(`${server.addr}/v1/${path}`, {
    method,
    headers: { "X-Vault-Token": token, "Content-Type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
}

/** `vault()` for calls that answer with an envelope: returns its `data`. */
async function vaultData<T>(
  server: VaultServerHandle,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const answer = await vault(server, token, method, path, body);
  if (!answer || typeof answer["data"] !== "object" || answer["data"] === null) {
    throw new Error(`${method} ${path}: no data in ${JSON.stringify(answer)}`);
  }
  return answer["data"] as T;
}

/** A record the way the broker seeds it: castellan's six fields, value as lower-case hex. */
function passphraseRecord(value: string, created: number) {
  return {
    type: "passphrase",
    value: Buffer.from(value, "utf8").toString("hex"),
    algorithm: null,
    bit_length: null,
    name: "x",
    created,
  };
}

const SEEDED = [
  { id: "5eeded0000000000000000000000c0de", value: "seeded-$%'\"-ü-🔑", created: 1_700_000_000 },
  { id: "app/nested-seed", value: "nested id, inserted verbatim", created: 1_600_000_000 },
];

async function seed(server: VaultServerHandle, token: string, mount: string): Promise<void> {
  for (const s of SEEDED) {
    await vault(server, token, "POST", `${mount}/data/${s.id}`, {
      data: passphraseRecord(s.value, s.created),
    });
  }
}

const seededSpec = SEEDED.map((s) => ({ id: s.id, value: s.value, name: "x", created: s.created }));

describeWithPython(
  ["castellan", "oslo_config", "oslo_log", "keystoneauth1", "stevedore"],
  "castellan 4.0.0 VaultKeyManager (Debian python3-castellan) against strongroom vault-server",
  () => {
    let server: VaultServerHandle | undefined;

    afterEach(async () => {
      await server?.stop();
      server = undefined;
    });

    it("root token, KV v2: store/get byte-exact, list, delete, seeded records, create_key", async () => {
      server = await startVaultServer({ mode: "dev" });
      const root = server.rootToken!;
      await seed(server, root, "secret");
      const missing = "0123456789abcdef0123456789abcdef";
      const run = await runCastellan(
        {
          VAULT_ADDR: server.addr,
          VAULT_TOKEN: root,
          VAULT_KV_MOUNT: "secret",
          VAULT_KV_VERSION: "2",
        },
        { passphrases: PASSPHRASES, seeded: seededSpec, missing: [missing], create_key: true },
      );
      expectAllOk(
        run,
        [
          "config.vault_key_manager_from_oslo_config",
          ...passphraseChecks,
          "list.includes_stored",
          "delete.then_get_not_found",
          ...SEEDED.map((s) => `seeded[${s.id}].get`),
          `missing[${missing}].get_raises_NotFound`,
          "create_key.aes256_roundtrip",
        ],
        server,
      );

      // What castellan stored is the documented record, readable by any Vault client.
      const [firstId] = run.output.info["stored_ids"] as string[];
      const { versions } = await vaultData<{ versions: Record<string, { deletion_time: string }> }>(
        server,
        root,
        "GET",
        `secret/metadata/${firstId}`,
      );
      expect(versions["1"]!.deletion_time).not.toBe("");
      const undeleted = await vault(server, root, "POST", `secret/undelete/${firstId}`, {
        versions: [1],
      });
      expect(undeleted).toBeUndefined();
      const read = await vaultData<{ data: unknown }>(
        server,
        root,
        "GET",
        `secret/data/${firstId}`,
      );
      expect(read.data).toEqual({
        type: "passphrase",
        value: Buffer.from(PASSPHRASES[0]!, "utf8").toString("hex"),
        algorithm: null,
        bit_length: null,
        name: null,
        created: null,
      });
    });

    it("AppRole login: the role's token stores and reads; a path its policy denies is Forbidden", async () => {
      server = await startVaultServer({ mode: "dev" });
      const root = server.rootToken!;
      await vault(server, root, "PUT", "sys/policy/castellan", {
        policy: [
          `path "secret/data/*" { capabilities = ["create", "read", "update", "delete"] }`,
          `path "secret/metadata/" { capabilities = ["list"] }`,
          `path "secret/data/private/*" { capabilities = ["deny"] }`,
        ].join("\n"),
      });
      await vault(server, root, "POST", "sys/auth/approle", { type: "approle" });
      await vault(server, root, "POST", "auth/approle/role/castellan", {
        token_policies: "castellan",
        token_ttl: "1h",
      });
      const { role_id: roleId } = await vaultData<{ role_id: string }>(
        server,
        root,
        "GET",
        "auth/approle/role/castellan/role-id",
      );
      const { secret_id: secretId } = await vaultData<{ secret_id: string }>(
        server,
        root,
        "POST",
        "auth/approle/role/castellan/secret-id",
        {},
      );
      await seed(server, root, "secret");
      const approleEnv = {
        VAULT_ADDR: server.addr,
        VAULT_ROLE_ID: roleId,
        VAULT_SECRET_ID: secretId,
        VAULT_KV_MOUNT: "secret",
        VAULT_KV_VERSION: "2",
      };

      const allowed = await runCastellan(approleEnv, {
        passphrases: PASSPHRASES,
        seeded: seededSpec.filter((s) => !s.id.includes("/")),
        create_key: true,
      });
      expectAllOk(
        allowed,
        [
          ...passphraseChecks,
          "list.includes_stored",
          "delete.then_get_not_found",
          `seeded[${SEEDED[0]!.id}].get`,
          "create_key.aes256_roundtrip",
        ],
        server,
      );
      expect(allowed.output.info["auth"]).toBe("approle");

      // Seeded only now: castellan's list() would GET secret/data/private/ and hit the deny.
      await vault(server, root, "POST", "secret/data/private/db", {
        data: passphraseRecord("not for this role", 1_700_000_001),
      });
      const denied = await runCastellan(approleEnv, {
        forbidden: ["private/db"],
        seeded: seededSpec.filter((s) => s.id.includes("/")),
      });
      expectAllOk(
        denied,
        ["forbidden[private/db].get_raises_Forbidden", `seeded[${SEEDED[1]!.id}].get`],
        server,
      );

      const badLogin = await runCastellan(
        { ...approleEnv, VAULT_SECRET_ID: "00000000-0000-0000-0000-000000000000" },
        { expect_login_failure: true },
      );
      expectAllOk(badLogin, ["approle.bad_login_KeyManagerError"], server);
    });

    it("sealed server: every key manager call raises KeyManagerError (503)", async () => {
      server = await startVaultServer({ mode: "dev" });
      const root = server.rootToken!;
      await vault(server, root, "PUT", "sys/seal");
      const run = await runCastellan(
        { VAULT_ADDR: server.addr, VAULT_TOKEN: root },
        { expect_unavailable: true },
      );
      expectAllOk(run, ["sealed.every_call_KeyManagerError"], server);
    });

    it("KV v1 mount (kv_version = 1): store, get, list, delete", async () => {
      server = await startVaultServer({ mode: "dev" });
      const root = server.rootToken!;
      await vault(server, root, "POST", "sys/mounts/kv1", {
        type: "kv",
        options: { version: "1" },
      });
      await vault(server, root, "POST", `kv1/${SEEDED[0]!.id}`, {
        ...passphraseRecord(SEEDED[0]!.value, SEEDED[0]!.created),
      });
      const run = await runCastellan(
        {
          VAULT_ADDR: server.addr,
          VAULT_TOKEN: root,
          VAULT_KV_MOUNT: "kv1",
          VAULT_KV_VERSION: "1",
        },
        { passphrases: PASSPHRASES, seeded: [seededSpec[0]!] },
      );
      expectAllOk(
        run,
        [
          ...passphraseChecks,
          "list.includes_stored",
          "delete.then_get_not_found",
          `seeded[${SEEDED[0]!.id}].get`,
        ],
        server,
      );
    });
  },
);

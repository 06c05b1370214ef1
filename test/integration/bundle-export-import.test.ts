/**
 * End to end: up + seed → a second version of one secret → keygen → export for two recipients
 * → import with each key into two new state dirs → `up` on each (without --manifest) serves
 * every option of every service exactly as the source does, versions included. Then what must
 * fail does, in one line, leaving the target byte for byte as it was; and an edge deployment's
 * bundle carries only its own secrets. Needs the build (the CLI runs from dist/).
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVaultKeyManager } from "../../drivers/key-managers/vault/index.js";
import { decodeRecord, type SecretRecord } from "../../src/bundle/bundle-records.js";
import { readPublicKeyFile, readSecretKeyFile } from "../../src/bundle/keys.js";
import { openBundle } from "../../src/bundle/reader.js";
import { loadManifest, parseManifest } from "../../src/config/manifest.js";
import { storeManifest } from "../../src/vault/bootstrap.js";
import { createVaultClient, type VaultClient } from "../../src/vault/vault-client.js";
import { digestOf, secretDigests } from "../helpers/secret-digests.js";
import {
  EXAMPLE_MANIFEST,
  EXAMPLE_PASSWORDS,
  httpsRequest,
  operatorToken,
  readState,
  runCli,
  startUp,
  type UpHandle,
  useUp,
} from "../helpers/strongroom-up.js";

/** The exporting deployment: its state dir is `source`. */
const { root, stateDir: source, at } = useUp("strongroom-bundle-");
const services = [...loadManifest(EXAMPLE_MANIFEST).services.keys()].sort();
const ROTATED = "n3w-Nova$pass/word";
const EDGE_VALUES = { NovaPassword: "edge1-nova-only", RpcPassword: "edge1-rpc-only" };
const EDGE_MANIFEST = `deployment:
  name: edge1
secrets:
  NovaPassword: {}
  RpcPassword: {}
services:
  nova:
    options:
      DEFAULT:
        transport_url: "rabbit://guest:{{ secret.RpcPassword | urlencode }}@edge-rabbit:5672/"
      database:
        connection: "mysql+pymysql://nova:{{ secret.NovaPassword | urlencode }}@edge-db/nova"
`;

/** Brokers started on imported state dirs, stopped even when a test fails. */
const imported: UpHandle[] = [];
const sourceRenders = new Map<string, unknown>();

afterAll(async () => {
  for (const handle of imported) await handle.stop("SIGKILL");
});

/** `up --state-dir DIR` without --manifest: it serves from what the import left. */
async function upImported(stateDir: string): Promise<() => Promise<unknown>> {
  const handle = await startUp(stateDir, [], { manifest: null });
  imported.push(handle);
  return () => handle.stop();
}

function operatorVault(stateDir: string): VaultClient {
  return createVaultClient({
    addr: readState(stateDir).vault.addr,
    token: operatorToken(stateDir),
    ca: readFileSync(join(stateDir, "ca.pem")),
  });
}

/** Every file and directory under `dir` with its mode and content hash ("absent" if none). */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return { ".": "absent" };
  const entries: Record<string, string> = {};
  const walk = (path: string) => {
    const stat = statSync(path);
    const name = relative(dir, path) || ".";
    if (stat.isDirectory()) {
      entries[name] = `dir ${stat.mode.toString(8)}`;
      for (const child of readdirSync(path)) walk(join(path, child));
    } else {
      const hash = createHash("sha256").update(readFileSync(path)).digest("hex");
      entries[name] = `${stat.mode.toString(8)} ${hash}`;
    }
  };
  walk(dir);
  return entries;
}

const renderJson = async (stateDir: string, service: string) => {
  const result = await runCli(stateDir, ["render", service, "--format", "json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as unknown;
};

const secretsList = async (stateDir: string) => {
  const state = readState(stateDir);
  const answer = await httpsRequest(`${state.broker.url}/v1/secrets`, {
    ca: readFileSync(join(stateDir, "ca.pem")),
    token: operatorToken(stateDir),
  });
  return JSON.parse(answer.text).secrets as Array<{ name: string; version: number }>;
};

async function keygen(name: string): Promise<string> {
  const result = await runCli(source, ["keygen", "--out", at(name), "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout).fingerprint as string;
}

const importInto = (stateDir: string, bundle: string, key: string, extra: string[] = []) =>
  runCli(stateDir, [
    "import",
    bundle,
    "--key",
    at(`${key}.key`),
    "--trust",
    join(source, "broker-bundle.pub"),
    "--state-dir",
    stateDir,
    ...extra,
  ]);

const expectOneLineFailure = (result: { code: number; stderr: string }, reason: RegExp) => {
  expect(result.code).not.toBe(0);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expect(result.stderr).toMatch(reason);
};

describe("export and import bundles", () => {
  const fingerprints: Record<string, string> = {};
  const bundle = at("overcloud.bundle");

  beforeAll(async () => {
    const state = readState(source);
    const put = await httpsRequest(`${state.broker.url}/v1/secrets/NovaPassword`, {
      ca: readFileSync(join(source, "ca.pem")),
      token: operatorToken(source),
      method: "PUT",
      body: { value: ROTATED },
    });
    expect(put.status, put.text).toBe(200);
    expect(JSON.parse(put.text).version).toBe(2);
    for (const name of ["alpha", "beta", "gamma"]) fingerprints[name] = await keygen(name);
    for (const service of services) sourceRenders.set(service, await renderJson(source, service));
  }, 180_000);

  it("up keeps the broker's signing key in the state dir, both halves 0600", () => {
    for (const name of ["broker-bundle.key", "broker-bundle.pub"]) {
      expect(statSync(join(source, name)).mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(join(source, "broker-bundle.pub"), "utf8")).toMatch(
      /^strongroom-public-key v1 /m,
    );
  });

  it("export writes a 0600 bundle for two recipients and a JSON summary, no values anywhere", async () => {
    const result = await runCli(source, [
      "export",
      "--recipient",
      at("alpha.pub"),
      at("beta.pub"),
      "--out",
      bundle,
      "--json",
    ]);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    const signer = await runCli(source, [
      "keygen",
      "--fingerprint",
      join(source, "broker-bundle.pub"),
    ]);
    expect(summary).toMatchObject({
      file: bundle,
      deployment: "overcloud",
      counts: { secrets: 23, records: 25 },
      signer: signer.stdout.trim(),
    });
    expect([...summary.recipients].sort()).toEqual([fingerprints.alpha, fingerprints.beta].sort());
    expect(summary.bytes).toBe(statSync(bundle).size);
    expect(statSync(bundle).mode & 0o777).toBe(0o600);
    expect(existsSync(`${bundle}.tmp`)).toBe(false);
    const bytes = readFileSync(bundle);
    expect(bytes.includes(Buffer.from(ROTATED))).toBe(false);
    expect(bytes.includes(Buffer.from("NovaPassword"))).toBe(false);
  });

  it("export is the operator's: a service is refused, and a secret key is no recipient", async () => {
    const state = readState(source);
    const asNova = await httpsRequest(`${state.broker.url}/v1/export`, {
      ca: readFileSync(join(source, "ca.pem")),
      cert: readFileSync(join(source, "identities", "nova.pem")),
      key: readFileSync(join(source, "identities", "nova.key")),
      method: "POST",
      body: { recipients: [readFileSync(at("alpha.pub"), "utf8")] },
    });
    expect(asNova.status).toBe(403);
    const wrongKind = await runCli(source, [
      "export",
      "--recipient",
      at("alpha.key"),
      "--out",
      at("never.bundle"),
    ]);
    expectOneLineFailure(wrongKind, /secret key file where a public key/);
    expect(existsSync(at("never.bundle"))).toBe(false);
  });

  it("imports with each key; up on each serves every option of every service as the source does", async () => {
    for (const [key, stateDir] of [
      ["alpha", at("site-a")],
      ["beta", at("site-b")],
    ] as const) {
      const result = await importInto(stateDir, bundle, key, ["--json"]);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({
        deployment: "overcloud",
        secrets: 23,
        services: services.length,
      });
      expect(statSync(stateDir).mode & 0o777).toBe(0o700);
      expect(readdirSync(root).filter((name) => name.includes(".import-"))).toEqual([]);

      const stop = await upImported(stateDir);
      try {
        for (const service of services) {
          // Digests, not values: a failure names the group/option that differs, never a password.
          expect(secretDigests(await renderJson(stateDir, service)), `${key}: ${service}`).toEqual(
            secretDigests(sourceRenders.get(service)),
          );
        }
        expect(await secretsList(stateDir)).toEqual(await secretsList(source));
        const [from, to] = [operatorVault(source), operatorVault(stateDir)];
        const path = "secret/data/strongroom/overcloud/secrets/NovaPassword";
        for (const version of [1, 2]) {
          const [a, b] = await Promise.all([
            from.read(`${path}?version=${version}`),
            to.read(`${path}?version=${version}`),
          ]);
          expect(secretDigests(b.data.data), `NovaPassword v${version}`).toEqual(
            secretDigests(a.data.data),
          );
          expect(b.data.metadata.version).toBe(version);
        }
        const latest = Buffer.from(String((await to.read(path)).data.data.value), "hex").toString();
        expect(digestOf(latest), "NovaPassword latest is the rotated value").toBe(
          digestOf(ROTATED),
        );
      } finally {
        await stop();
      }
    }
  }, 240_000);

  it("audits the secret write and the export at the source, the import in the imported state dir", async () => {
    const events = (stateDir: string) =>
      readFileSync(join(stateDir, "audit.log"), "utf8")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const atSource = events(source);
    expect(atSource).toContainEqual(
      expect.objectContaining({
        event: "secret-write",
        identity: "operator",
        secret: "NovaPassword",
        version: 2,
      }),
    );
    expect(atSource).toContainEqual(
      expect.objectContaining({ event: "export", identity: "operator", deployment: "overcloud" }),
    );
    expect(readFileSync(join(source, "audit.log"), "utf8").includes(ROTATED)).toBe(false);
    const imported = events(at("site-a"));
    expect(imported[0]).toMatchObject({
      seq: 1,
      event: "import",
      identity: "import",
      deployment: "overcloud",
      secrets: 23,
    });
    const verify = await runCli(at("site-a"), ["audit", "verify", "--state-dir", at("site-a")]);
    expect(verify.code, verify.stderr).toBe(0);
  });

  it("refuses, in one line and without touching the target: another key, an untrusted signer, a non-empty dir", async () => {
    const target = at("site-a");
    const before = snapshot(target);
    expectOneLineFailure(
      await importInto(target, bundle, "gamma", ["--replace"]),
      /not sealed to this key/,
    );
    const untrusted = await runCli(target, [
      "import",
      bundle,
      "--key",
      at("alpha.key"),
      "--trust",
      at("beta.pub"),
      "--state-dir",
      target,
      "--replace",
    ]);
    expectOneLineFailure(untrusted, /not a trusted key/);
    expectOneLineFailure(await importInto(target, bundle, "alpha"), /not empty.*--replace/);
    expect(snapshot(target)).toEqual(before);

    const absent = at("never-created");
    expectOneLineFailure(await importInto(absent, bundle, "gamma"), /not sealed to this key/);
    expect(existsSync(absent)).toBe(false);
  }, 60_000);

  it("a flipped bit, a truncation or appended bytes: one line, non-zero, target untouched", async () => {
    const target = at("site-b");
    const before = snapshot(target);
    const good = readFileSync(bundle);
    const variants: Array<[string, Buffer]> = [
      ["flip-header", flip(good, 40)],
      ["flip-body", flip(good, Math.floor(good.length / 2))],
      ["flip-last", flip(good, good.length - 1)],
      ["truncated", good.subarray(0, Math.floor(good.length * 0.7))],
      ["appended", Buffer.concat([good, Buffer.from([0])])],
    ];
    for (const [name, bytes] of variants) {
      const file = at(`${name}.bundle`);
      writeFileSync(file, bytes);
      const result = await importInto(target, file, "alpha", ["--replace"]);
      expectOneLineFailure(result, /bundle|chunk|signature|signed|truncated|sealed/);
      expect(snapshot(target), name).toEqual(before);
    }
    expect(readdirSync(root).filter((name) => name.startsWith(".site-b."))).toEqual([]);
  }, 60_000);

  it("a newer bundle imports over an older one; the older one and a replay are refused unless --allow-older", async () => {
    await keygen("delta");
    const exportFor = async (name: string) => {
      const file = at(name);
      const result = await runCli(source, [
        "export",
        "--recipient",
        at("delta.pub"),
        "--out",
        file,
        "--json",
      ]);
      expect(result.code, result.stderr).toBe(0);
      return { file, sequence: JSON.parse(result.stdout).sequence as number };
    };
    const older = await exportFor("older.bundle");
    const newer = await exportFor("newer.bundle");
    expect(newer.sequence).toBeGreaterThan(older.sequence);
    const signed = await openBundle(newer.file, {
      key: readSecretKeyFile(at("delta.key")),
      trust: [readPublicKeyFile(join(source, "broker-bundle.pub"))],
    });
    expect(signed.header.sequence, "the sequence is in the signed header").toBe(newer.sequence);

    const target = at("site-d");
    const trustState = at("delta.imports.json");
    const first = await importInto(target, older.file, "delta", ["--json"]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ sequence: older.sequence, trustState });
    expect(statSync(trustState).mode & 0o777).toBe(0o600);
    const second = await importInto(target, newer.file, "delta", ["--replace"]);
    expect(second.code, second.stderr).toBe(0);

    const before = snapshot(target);
    const remembered = readFileSync(trustState, "utf8");
    expectOneLineFailure(
      await importInto(target, older.file, "delta", ["--replace"]),
      /^STRONGROOM_ERR_BUNDLE_NOT_NEWER: .*older\.bundle: sequence \d+ .*is not newer than the last bundle imported from sr1:\w+, sequence \d+ .*--allow-older/,
    );
    expectOneLineFailure(
      await importInto(target, newer.file, "delta", ["--replace"]),
      /^STRONGROOM_ERR_BUNDLE_NOT_NEWER: .*newer\.bundle: this bundle was already imported .*replay/,
    );
    expect(snapshot(target), "refused imports leave the state dir as it was").toEqual(before);
    expect(readFileSync(trustState, "utf8"), "and the trust state").toBe(remembered);
    expect(readdirSync(root).filter((name) => name.startsWith(".site-d."))).toEqual([]);

    const allowed = await importInto(target, older.file, "delta", [
      "--replace",
      "--allow-older",
      "--json",
    ]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(JSON.parse(allowed.stdout)).toMatchObject({ sequence: older.sequence });
    // The older bundle is now the last one: the newer one imports again.
    const forward = await importInto(target, newer.file, "delta", ["--replace"]);
    expect(forward.code, forward.stderr).toBe(0);

    // --trust-state keeps the memory elsewhere: a node with none yet accepts the older bundle.
    const elsewhere = at("elsewhere.imports.json");
    const fresh = await importInto(at("site-e"), older.file, "delta", ["--trust-state", elsewhere]);
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(existsSync(elsewhere)).toBe(true);
    expectOneLineFailure(
      await importInto(at("site-e"), older.file, "delta", [
        "--replace",
        "--trust-state",
        elsewhere,
      ]),
      /STRONGROOM_ERR_BUNDLE_NOT_NEWER: .*replay/,
    );
  }, 240_000);

  it("an edge deployment's bundle carries only its own secrets", async () => {
    // Another deployment in the same Vault: its secrets and manifest (its roles and policies are
    // its own operator's to write, which this broker's operator token cannot).
    const operator = operatorVault(source);
    await storeManifest(operator, {
      manifest: parseManifest(EDGE_MANIFEST, "edge1.yaml"),
      manifestText: EDGE_MANIFEST,
      kvMount: "secret",
    });
    const edge = createVaultKeyManager({ client: operator, deployment: "edge1" });
    for (const [name, value] of Object.entries(EDGE_VALUES)) await edge.put(name, value);

    const edgeBundle = at("edge1.bundle");
    const result = await runCli(source, [
      "export",
      "--recipient",
      at("gamma.pub"),
      "--deployment",
      "edge1",
      "--out",
      edgeBundle,
      "--json",
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      deployment: "edge1",
      counts: { secrets: 2 },
    });

    const opened = await openBundle(edgeBundle, {
      key: readSecretKeyFile(at("gamma.key")),
      trust: [readPublicKeyFile(join(source, "broker-bundle.pub"))],
    });
    expect(opened.header.deployment).toBe("edge1");
    const plain: Buffer[] = [];
    const secrets: SecretRecord[] = [];
    let index = 0;
    for await (const bytes of opened.records()) {
      plain.push(Buffer.from(bytes));
      const record = decodeRecord(bytes, index++);
      if (record.kind === "secret") secrets.push(record);
      else expect(record.deployment).toBe("edge1");
    }
    expect(secrets.map((s) => s.name)).toEqual(["NovaPassword", "RpcPassword"]);
    const hexOf = (value: string) => Buffer.from(value).toString("hex");
    // Latest value of each secret, by name, as digests: a failure names the secret, not its value.
    expect(
      Object.fromEntries(
        secrets.map((s) => [s.name, secretDigests(s.versions.at(-1)?.data?.["value"])]),
      ),
    ).toEqual({
      NovaPassword: digestOf(hexOf(EDGE_VALUES.NovaPassword)),
      RpcPassword: digestOf(hexOf(EDGE_VALUES.RpcPassword)),
    });
    // Nothing of the overcloud: not its rotated value, not any of its seeded ones. Booleans, as
    // `everything` holds the edge values and a `toContain` failure would print it.
    const everything = Buffer.concat(plain).toString("utf8");
    expect(everything.includes(hexOf(ROTATED)), "the overcloud's rotated NovaPassword").toBe(false);
    const seeded = readFileSync(EXAMPLE_PASSWORDS, "utf8").matchAll(/(\S*): (\S{12,})$/gm);
    for (const [, name, value] of seeded) {
      expect(everything.includes(hexOf(value!)), `the overcloud's seeded ${name}`).toBe(false);
    }
    expect(/overcloud/.test(everything), "the name overcloud").toBe(false);

    const unknown = await runCli(source, [
      "export",
      "--recipient",
      at("gamma.pub"),
      "--deployment",
      "edge9",
      "--out",
      at("edge9.bundle"),
    ]);
    expectOneLineFailure(unknown, /no deployment "edge9"/);
    expect(existsSync(at("edge9.bundle"))).toBe(false);
    expect(existsSync(at("edge9.bundle.tmp"))).toBe(false);
  }, 60_000);
});

function flip(bytes: Buffer, offset: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = copy[offset]! ^ 0x10;
  return copy;
}

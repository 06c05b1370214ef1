/**
 * The broker service against a live `strongroom vault-server --dev`: seeding the TripleO
 * example (Castellan records read back raw), all-or-nothing, re-runs, lookups from every
 * source, and cache invalidation after writes. Values are compared without printing them.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCastellanSource } from "../../drivers/config-sources/castellan/index.js";
import { createEnvironmentSource } from "../../drivers/config-sources/environment/index.js";
import { createIniSource } from "../../drivers/config-sources/ini/index.js";
import { createVaultKeyManager } from "../../drivers/key-managers/vault/index.js";
import type { KeyManager } from "../../drivers/types.js";
import { createBrokerService } from "../../src/broker/create-broker-service.js";
import { parseManifest } from "../../src/config/manifest.js";
import { createVaultRecordStore } from "../../src/vault/record-store.js";
import { createVaultClient } from "../../src/vault/vault-client.js";
import type { Json } from "../helpers/vault-http.js";
import { startVaultServer, type VaultServerHandle } from "../helpers/vault-server-process.js";

const EXAMPLE = fileURLToPath(new URL("../../examples/tripleo/", import.meta.url));
const MANIFEST_TEXT = readFileSync(join(EXAMPLE, "manifest.yaml"), "utf8");
const PASSWORDS_FILE = join(EXAMPLE, "overcloud-passwords.yaml");
const PASSWORDS = readFileSync(PASSWORDS_FILE, "utf8");
const NOVA_PASSWORD = "n0va$HOST%2F@db$$x";
const RECORD_KEYS = ["algorithm", "bit_length", "created", "name", "type", "value"];

let server: VaultServerHandle;
let root: string;
let dir: string;
let deployments = 0;

/** Equality without a value in the failure message. */
function expectSame(actual: unknown, expected: unknown, what: string): void {
  expect(JSON.stringify(actual) === JSON.stringify(expected), `${what} differs`).toBe(true);
}

const hex = (text: string) => Buffer.from(text, "utf8").toString("hex");

async function kvRead(path: string, token = root) {
  const res = await fetch(`${server.addr}/v1/secret/${path}`, {
    headers: { "X-Vault-Token": token },
  });
  return {
    status: res.status,
    body: res.status === 200 ? ((await res.json()) as { data: Json }) : undefined,
  };
}

/** A KeyManager wrapper counting successful writes and destroys. */
function counting(inner: KeyManager) {
  const counts = { puts: 0, destroys: 0, gets: 0 };
  const km: KeyManager = {
    ...inner,
    driver: inner.driver,
    get: async (id, version) => {
      counts.gets++;
      return inner.get(id, version);
    },
    put: async (id, value, options) => {
      const result = await inner.put(id, value, options);
      counts.puts++;
      return result;
    },
    destroy: async (id) => {
      await inner.destroy(id);
      counts.destroys++;
    },
  };
  return { km, counts };
}

function brokerFor(
  options: { token?: string; env?: Record<string, string>; iniDir?: string } = {},
) {
  const deployment = `dep${++deployments}`;
  const manifest = parseManifest(
    MANIFEST_TEXT.replace("name: overcloud", `name: ${deployment}`),
    "manifest.yaml",
  );
  const client = createVaultClient({ addr: server.addr, token: options.token ?? root });
  const { km, counts } = counting(createVaultKeyManager({ client, deployment }));
  const records = createVaultRecordStore({
    client: createVaultClient({ addr: server.addr, token: root }),
    deployment,
  });
  const sources = [
    createEnvironmentSource(options.env ?? {}),
    createIniSource({ dir: options.iniDir ?? join(dir, "none") }),
    createCastellanSource({ manifest, keyManager: km }),
  ];
  const broker = createBrokerService({
    manifest,
    keyManager: km,
    sources,
    records,
    vaultUrl: server.addr,
    kvMount: "secret",
  });
  return { broker, deployment, counts, keyManager: km };
}

const seedExample = (broker: ReturnType<typeof brokerFor>["broker"], dryRun = false) =>
  broker.seed({ text: PASSWORDS, file: PASSWORDS_FILE, generate: true, dryRun });

beforeAll(async () => {
  server = await startVaultServer({ mode: "dev" });
  root = server.rootToken!;
  dir = mkdtempSync(join(tmpdir(), "broker-service-"));
});

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("seeding the TripleO example", () => {
  it("writes every secret as a Castellan record at strongroom/<deployment>/secrets/<Name>", async () => {
    const { broker, deployment } = brokerFor();
    const before = Math.floor(Date.now() / 1000);
    const report = await seedExample(broker);
    expect(report.dryRun).toBe(false);
    expect(report.entries).toContainEqual({ name: "NovaPassword", action: "import" });
    expect(report.entries).toContainEqual({ name: "HeatPassword", action: "generate" });
    expect(report.entries).toContainEqual({ name: "RabbitCookie", action: "import" });
    expect(report.written).toBe(report.entries.length);

    const nova = await kvRead(`data/strongroom/${deployment}/secrets/NovaPassword`);
    expect(nova.status).toBe(200);
    const record = nova.body!.data["data"];
    expect(Object.keys(record).sort()).toEqual(RECORD_KEYS);
    expect(record).toMatchObject({
      type: "passphrase",
      algorithm: null,
      bit_length: null,
      name: "NovaPassword",
    });
    expect(Number.isInteger(record.created) && record.created >= before).toBe(true);
    expect(record.value).toMatch(/^[0-9a-f]+$/);
    expectSame(record.value, hex(NOVA_PASSWORD), "NovaPassword's hex");

    const fernet = (await kvRead(`data/strongroom/${deployment}/secrets/KeystoneFernetKeys`)).body!
      .data["data"];
    expect(fernet.type).toBe("opaque");
    const keys = JSON.parse(Buffer.from(fernet.value, "hex").toString("utf8"));
    expect(Object.keys(keys)).toEqual([
      "/etc/keystone/fernet-keys/0",
      "/etc/keystone/fernet-keys/1",
    ]);

    const heat = (await kvRead(`data/strongroom/${deployment}/secrets/HeatPassword`)).body!.data[
      "data"
    ];
    expect(Buffer.from(heat.value, "hex").toString("utf8")).toMatch(/^[0-9A-Za-z]{25}$/);
  });

  it("renders every castellan-mapped option into a $-escaped passphrase record", async () => {
    const { broker, deployment } = brokerFor();
    await seedExample(broker);
    const path = `data/strongroom/${deployment}/rendered/nova/database/connection`;
    const rendered = (await kvRead(path)).body!.data["data"];
    expect(Object.keys(rendered).sort()).toEqual(RECORD_KEYS);
    expect(rendered.type).toBe("passphrase");
    const expected =
      "mysql+pymysql://nova:n0va%24HOST%252F%40db%24%24x@192.168.24.2/nova?read_default_file=/etc/my.cnf.d/tripleo.cnf&read_default_group=tripleo";
    expectSame(
      Buffer.from(rendered.value, "hex").toString("utf8"),
      expected.replaceAll("$", "$$"),
      "rendered connection",
    );
    const password = (
      await kvRead(`data/strongroom/${deployment}/rendered/nova/keystone_authtoken/password`)
    ).body!;
    expectSame(
      Buffer.from(password.data["data"].value, "hex").toString(),
      "n0va$$HOST%2F@db$$$$x",
      "escaped password",
    );
    expect(
      (await kvRead(`data/strongroom/${deployment}/rendered/nova/neutron/username`)).status,
    ).toBe(200);
    expect(broker.castellanMapping("nova")).toContain(
      `connection = strongroom/${deployment}/rendered/nova/database/connection`,
    );
  });

  it("is a no-op when run again: nothing is rewritten", async () => {
    const { broker, deployment, counts } = brokerFor();
    await seedExample(broker);
    const writes = counts.puts;
    const renderedMeta = await kvRead(
      `metadata/strongroom/${deployment}/rendered/nova/database/connection`,
    );
    const again = await seedExample(broker);
    expect(again.written).toBe(0);
    expect(again.entries.every((e) => e.action === "keep")).toBe(true);
    expect(counts.puts).toBe(writes);
    expect(
      (await kvRead(`metadata/strongroom/${deployment}/secrets/NovaPassword`)).body!.data[
        "current_version"
      ],
    ).toBe(1);
    const after = await kvRead(
      `metadata/strongroom/${deployment}/rendered/nova/database/connection`,
    );
    expect(after.body!.data["current_version"]).toBe(renderedMeta.body!.data["current_version"]);
  });

  it("lists names and actions only on a dry run, and writes nothing", async () => {
    const { broker, keyManager } = brokerFor();
    const report = await seedExample(broker, true);
    expect(report.dryRun).toBe(true);
    expect(report.written).toBe(0);
    expect(report.entries.length).toBeGreaterThan(20);
    for (const entry of report.entries)
      expect(Object.keys(entry).sort()).toEqual(["action", "name"]);
    expect(JSON.stringify(report).includes("KZlWgb0BPMPFCmec4CMWZB3Sh")).toBe(false);
    expect(await keyManager.list()).toEqual([]);
  });

  it("is all or nothing: a write refused midway leaves the store as it was", async () => {
    const deployment = `dep${deployments + 1}`;
    const admin = createVaultClient({ addr: server.addr, token: root });
    const prefix = `secret/data/strongroom/${deployment}/secrets`;
    await admin.addPolicy({
      name: `seeder-${deployment}`,
      rules: [
        `path "${prefix}/*" { capabilities = ["create", "read", "update", "delete", "list"] }`,
        `path "secret/metadata/strongroom/${deployment}/secrets/*" { capabilities = ["read", "delete", "list"] }`,
        `path "${prefix}/ZzDenied" { capabilities = ["deny"] }`,
      ].join("\n"),
    });
    const token = (await admin.tokenCreate({ policies: [`seeder-${deployment}`] })).auth
      .client_token as string;
    const { broker, counts } = brokerFor({ token });
    const input = `${PASSWORDS}  ZzDenied: not-allowed-here\n`;

    await expect(
      broker.seed({ text: input, file: PASSWORDS_FILE, generate: true, dryRun: false }),
    ).rejects.toMatchObject({
      code: "STRONGROOM_ERR_VAULT_FORBIDDEN",
      message: expect.stringContaining("ZzDenied"),
    });
    expect(counts.puts).toBeGreaterThan(20);
    expect(counts.destroys).toBe(counts.puts);
    const listing = await fetch(
      `${server.addr}/v1/secret/metadata/strongroom/${deployment}/secrets/?list=true`,
      {
        headers: { "X-Vault-Token": root },
      },
    );
    expect(listing.status).toBe(404);
    expect((await kvRead(`metadata/strongroom/${deployment}/secrets/NovaPassword`)).status).toBe(
      404,
    );
    expect(
      (await kvRead(`data/strongroom/${deployment}/rendered/nova/database/connection`)).status,
    ).toBe(404);
  });
});

describe("lookups", () => {
  it("answer from each source with its location", async () => {
    const iniDir = join(dir, "overrides");
    mkdirSync(iniDir);
    writeFileSync(join(iniDir, "nova.conf"), "[neutron]\nusername = neutron-from-ini\n");
    const { broker } = brokerFor({
      env: { OS_KEYSTONE_AUTHTOKEN__USERNAME: "nova-from-env" },
      iniDir,
    });
    await seedExample(broker);

    expect(await broker.lookup("nova", "keystone_authtoken", "username")).toMatchObject({
      value: "nova-from-env",
      location: { source: "environment", detail: "OS_KEYSTONE_AUTHTOKEN__USERNAME" },
    });
    expect(await broker.lookup("nova", "neutron", "username")).toMatchObject({
      value: "neutron-from-ini",
      location: { source: "ini", detail: join(iniDir, "nova.conf") },
    });
    const connection = await broker.lookup("nova", "database", "connection");
    expect(connection).toMatchObject({
      type: "string",
      secret: true,
      location: { source: "castellan", detail: "NovaPassword" },
      version: 1,
    });
    expect(
      String(connection.value).includes("nova:n0va%24HOST%252F%40db%24%24x@192.168.24.2/nova?"),
    ).toBe(true);
    // Once resolved, the same lookup is answered synchronously, with the same answer.
    expect(broker.lookup("nova", "database", "connection")).toBe(connection);
    expect(await broker.lookup("nova", "placement", "username")).toMatchObject({
      value: "placement",
      location: { source: "default", detail: "manifest" },
      version: 0,
    });
    expect(await broker.lookup("nova", "DEFAULT", "my_ip")).toMatchObject({
      value: "192.168.24.2",
      type: "ip",
    });
    expect(await broker.lookup("keystone", "cache", "enabled")).toMatchObject({
      value: true,
      type: "boolean",
    });
    expect(await broker.lookup("keystone", "cache", "memcache_servers")).toMatchObject({
      value: ["192.168.24.2:11211"],
    });
    await expect(broker.lookup("nova", "database", "nope")).rejects.toMatchObject({
      code: "STRONGROOM_ERR_UNKNOWN_OPTION",
    });
    await expect(broker.lookup("ghost", "database", "x")).rejects.toMatchObject({
      code: "STRONGROOM_ERR_UNKNOWN_SERVICE",
    });
  });

  it("are cached, and a putSecret invalidates them and re-renders the consumers' records", async () => {
    const { broker, deployment, counts } = brokerFor();
    await seedExample(broker);
    const first = await broker.lookup("nova", "placement", "password");
    expect(first.version).toBe(1);
    const reads = counts.gets;
    await broker.lookup("nova", "placement", "password");
    expect(counts.gets).toBe(reads);

    const fresh = "new-placement-$ecret";
    expect(await broker.putSecret("PlacementPassword", fresh)).toEqual({ version: 2 });
    const second = await broker.lookup("nova", "placement", "password");
    expect(second.version).toBe(2);
    expectSame(second.value, fresh, "the new password");
    for (const service of ["nova", "neutron", "placement"]) {
      const group = service === "placement" ? "keystone_authtoken" : "placement";
      const record = (
        await kvRead(`data/strongroom/${deployment}/rendered/${service}/${group}/password`)
      ).body!;
      expectSame(
        Buffer.from(record.data["data"].value, "hex").toString(),
        "new-placement-$$ecret",
        `${service}'s record`,
      );
    }

    const listed = await broker.listSecrets();
    const placement = listed.find((s) => s.name === "PlacementPassword");
    expect(placement).toMatchObject({
      type: "passphrase",
      version: 2,
      consumers: ["neutron", "nova", "placement"],
    });
    expect(Object.keys(placement!).sort()).toEqual([
      "consumers",
      "created",
      "name",
      "type",
      "version",
    ]);
    expect(JSON.stringify(listed).includes(fresh)).toBe(false);
  });

  it("render a service's INI once until a write changes what it is made of", async () => {
    const { broker, counts } = brokerFor();
    await seedExample(broker);
    const before = await broker.renderIni("nova");
    const reads = counts.gets;
    expect(await broker.renderIni("nova")).toBe(before);
    expect(counts.gets).toBe(reads);
    const fresh = "ini-placement-secret";
    await broker.putSecret("PlacementPassword", fresh);
    const after = await broker.renderIni("nova");
    expect(after).not.toBe(before);
    expect(after.includes(fresh)).toBe(true); // asserted without printing the value
    expect(before.includes(fresh)).toBe(false);
  });

  it("refuse a value oslo.config could not deliver, before writing it", async () => {
    const { broker } = brokerFor();
    await seedExample(broker);
    await expect(broker.putSecret("NovaPassword", "carriage\rreturn")).rejects.toMatchObject({
      code: "STRONGROOM_ERR_VALUE_UNDELIVERABLE",
    });
    expect((await broker.lookup("nova", "database", "connection")).version).toBe(1);
  });
});

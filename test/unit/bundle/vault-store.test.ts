/**
 * Export and import of secrets against a real (embedded, dev-mode) Vault: every version keeps
 * its number, deleted/destroyed/pruned versions stay unreadable, KV settings come along.
 * Needs the build (the Vault runs as `node bin/strongroom.js vault-server --dev`).
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeRecord, type SecretRecord } from "../../../src/bundle/bundle-records.js";
import { exportRecords, planExport } from "../../../src/bundle/export-store.js";
import { loadSecrets } from "../../../src/bundle/import-store.js";
import { createVaultClient, type VaultClient } from "../../../src/vault/vault-client.js";
import { EXAMPLE_MANIFEST } from "../../helpers/strongroom-up.js";
import { startVaultServer, type VaultServerHandle } from "../../helpers/vault-server-process.js";

let server: VaultServerHandle;
let client: VaultClient;
const SOURCE = "strongroom/overcloud/secrets";
const COPY = "strongroom/copy/secrets";

const write = (name: string, value: string, cas?: number) =>
  client.write(`secret/data/${SOURCE}/${name}`, {
    data: { type: "passphrase", value: Buffer.from(value).toString("hex"), name, created: 1 },
    ...(cas !== undefined && { options: { cas } }),
  });
const metadata = async (folder: string, name: string) =>
  (await client.read(`secret/metadata/${folder}/${name}`)).data;
const dataOf = async (folder: string, name: string, version: number) =>
  client
    .read(`secret/data/${folder}/${name}?version=${version}`)
    .then((answer) => answer.data.data as Record<string, unknown>)
    .catch(() => undefined);

beforeAll(async () => {
  server = await startVaultServer({ mode: "dev" });
  client = createVaultClient({ addr: server.addr, token: server.rootToken });
  await client.write("secret/data/strongroom/overcloud/manifest", {
    data: { file: "/somewhere/manifest.yaml", yaml: readFileSync(EXAMPLE_MANIFEST, "utf8") },
  });
  for (const value of ["a1", "a2", "a3"]) await write("Plain", value);
  for (const value of ["b1", "b2", "b3", "b4"]) await write("Gaps", value);
  await client.write(`secret/delete/${SOURCE}/Gaps`, { versions: [2] });
  await client.write(`secret/destroy/${SOURCE}/Gaps`, { versions: [3] });
  await client.write(`secret/metadata/${SOURCE}/Kept`, {
    max_versions: 2,
    custom_metadata: { owner: "ops" },
  });
  for (const value of ["k1", "k2", "k3", "k4", "k5"]) await write("Kept", value);
  // Vault keeps 10 versions by default: 1 and 2 are pruned.
  for (let n = 1; n <= 12; n++) await write("Long", `l${n}`);
  await client.write(`secret/metadata/${SOURCE}/Guarded`, { cas_required: true });
  await write("Guarded", "g1$ \u00e9\n", 0);
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

async function exported(): Promise<SecretRecord[]> {
  const plan = await planExport(client, "secret", "overcloud");
  const records = [];
  let index = 0;
  for await (const bytes of exportRecords(client, "secret", plan)) {
    records.push(decodeRecord(bytes, index++));
  }
  expect(records.slice(0, 2).map((r) => r.kind)).toEqual(["deployment", "manifest"]);
  return records.slice(2) as SecretRecord[];
}

describe("export and import stores", () => {
  it("export reads every kept version, in name order, with the manifest and the identities", async () => {
    const plan = await planExport(client, "secret", "overcloud");
    expect(plan.names).toEqual(["Gaps", "Guarded", "Kept", "Long", "Plain"]);
    expect(plan.manifest.file).toBe("manifest.yaml");
    const nova = plan.deployment.services.find((s) => s.service === "nova");
    expect(nova).toMatchObject({
      policy: "strongroom-overcloud.nova",
      role: "overcloud.nova",
    });
    expect(nova?.secrets).toContain("NovaPassword");

    const secrets = await exported();
    const gaps = secrets.find((s) => s.name === "Gaps")!;
    expect(gaps.versions.map((v) => [v.version, v.data !== null])).toEqual([
      [1, true],
      [2, false],
      [3, false],
      [4, true],
    ]);
    const long = secrets.find((s) => s.name === "Long")!;
    expect(long).toMatchObject({ current_version: 12, oldest_version: 3 });
    expect(long.versions).toHaveLength(10);
    await expect(planExport(client, "secret", "edge9")).rejects.toThrow(/no deployment "edge9"/);
  });

  it("import gives every version its source number, values byte for byte, settings included", async () => {
    const secrets = await exported();
    async function* source() {
      yield* secrets;
    }
    const loaded = await loadSecrets({ client, kvMount: "secret", deployment: "copy" }, source());
    expect(loaded.secrets).toBe(5);

    for (const secret of secrets) {
      const [from, to] = [await metadata(SOURCE, secret.name), await metadata(COPY, secret.name)];
      for (const key of ["current_version", "oldest_version", "max_versions", "cas_required"]) {
        expect(to[key], `${secret.name} ${key}`).toEqual(from[key]);
      }
      expect(to.custom_metadata ?? null).toEqual(from.custom_metadata ?? null);
      expect(Object.keys(to.versions)).toEqual(Object.keys(from.versions));
      for (const [version, info] of Object.entries(from.versions) as Array<
        [string, { deletion_time: string; destroyed: boolean }]
      >) {
        const copy = to.versions[version];
        expect(copy.deletion_time !== "", `${secret.name} v${version} deleted`).toBe(
          info.deletion_time !== "",
        );
        // What the source no longer serves is destroyed here: no tombstone can be undeleted.
        expect(copy.destroyed, `${secret.name} v${version}`).toBe(
          info.destroyed || info.deletion_time !== "",
        );
        expect(await dataOf(COPY, secret.name, Number(version))).toEqual(
          await dataOf(SOURCE, secret.name, Number(version)),
        );
      }
    }
    expect(await dataOf(COPY, "Guarded", 1)).toMatchObject({
      value: Buffer.from("g1$ \u00e9\n").toString("hex"),
    });
  });

  it("import stops at the first failing write and reports it", async () => {
    const [first] = await exported();
    async function* again() {
      yield first!; // already imported above: version 1 exists, so check-and-set refuses
    }
    await expect(
      loadSecrets({ client, kvMount: "secret", deployment: "copy" }, again()),
    ).rejects.toThrow(/check-and-set|write/);
  });
});

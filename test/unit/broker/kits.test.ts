/**
 * The kit registry over an in-memory record store and a stand-in for Vault's AppRole secret-id
 * routes (the embedded Vault's are tested in embedded-vault/approle.test.ts and, end to end,
 * integration/kits.test.ts): two broker replicas share one deny-list through the store.
 */
import { describe, expect, it } from "vitest";
import { createKitRegistry } from "../../../src/broker/kits.js";
import { roleApiPath, serviceRoleName } from "../../../src/vault/kv-layout.js";
import { createMemoryRecordStore } from "../../helpers/memory-record-store.js";

const ROLE = roleApiPath(serviceRoleName("overcloud", "nova"));

/** LIST `<role>/secret-id` and `<role>/secret-id-accessor/destroy`, as Vault answers them. */
function approleSecretIds(accessors: string[]) {
  const live = new Set(accessors);
  const notFound = () => Object.assign(new Error("Status 404"), { response: { statusCode: 404 } });
  return {
    live,
    async list(path: string) {
      expect(path).toBe(`${ROLE}/secret-id`);
      if (live.size === 0) throw notFound();
      return { data: { keys: [...live] } };
    },
    async write(path: string, body: { secret_id_accessor: string }) {
      expect(path).toBe(`${ROLE}/secret-id-accessor/destroy`);
      if (!live.delete(body.secret_id_accessor)) throw notFound();
      return {};
    },
  };
}

const registry = (records: ReturnType<typeof createMemoryRecordStore>, vault: object) =>
  createKitRegistry({
    records,
    vault: vault as never,
    deployment: "overcloud",
    services: ["nova", "glance"],
    refreshMs: 3_600_000,
  });

describe("kit registry", () => {
  it("lists recorded kits with their status, and secret-ids no record names as untracked", async () => {
    const records = createMemoryRecordStore();
    const vault = approleSecretIds(["acc-1", "acc-old"]);
    const kits = await registry(records, vault);
    await kits.issued("nova", { serial: "00AB", secretIdAccessor: "acc-1" }, "operator");
    await kits.issued("nova", { serial: "cd", notAfter: "2000-01-01T00:00:00Z" }, "operator");
    const rows = await kits.list("nova");
    expect(rows.map((r) => [r.serial, r.secretIdAccessor, r.status])).toEqual([
      ["ab", "acc-1", "active"],
      ["cd", undefined, "expired"],
      [undefined, "acc-old", "untracked"],
    ]);
    kits.close();
  });

  it("revoke --all destroys every secret-id and denies every serial; another replica sees it on refresh", async () => {
    const records = createMemoryRecordStore();
    const vault = approleSecretIds(["acc-1", "acc-old"]);
    const a = await registry(records, vault);
    const b = await registry(records, vault);
    await a.issued("nova", { serial: "ab", secretIdAccessor: "acc-1" }, "operator");
    const revoked = await a.revoke("nova", { all: true }, "operator");
    expect(revoked).toEqual([
      { serial: "ab", secretIdAccessor: "acc-1", secretId: "destroyed" },
      { secretIdAccessor: "acc-old", secretId: "destroyed" },
    ]);
    expect(vault.live.size).toBe(0);
    expect(a.has("ab")).toBe(true);
    expect(a.revision()).toBe(1);
    expect(b.has("ab")).toBe(false);
    await b.refresh();
    expect(b.has("ab")).toBe(true);
    expect((await b.list("nova")).map((r) => r.status)).toEqual(["revoked"]);
    a.close();
    b.close();
  });

  it("denies a serial no record names, reports a gone secret-id, and refuses an unknown accessor", async () => {
    const records = createMemoryRecordStore();
    const vault = approleSecretIds([]);
    const kits = await registry(records, vault);
    await kits.issued("nova", { serial: "01", secretIdAccessor: "expired" }, "operator");
    expect(await kits.revoke("nova", { serial: "01" }, "operator")).toEqual([
      { serial: "1", secretIdAccessor: "expired", secretId: "gone" },
    ]);
    expect(await kits.revoke("nova", { serial: "FF" }, "operator")).toEqual([
      { serial: "ff", secretId: "none" },
    ]);
    expect(kits.has("ff")).toBe(true);
    await expect(
      kits.revoke("nova", { secretIdAccessor: "nope" }, "operator"),
    ).rejects.toMatchObject({ code: "STRONGROOM_ERR_UNKNOWN_KIT" });
    await expect(kits.list("keystone")).rejects.toMatchObject({
      code: "STRONGROOM_ERR_UNKNOWN_SERVICE",
    });
    kits.close();
  });
});

/**
 * Two brokers sharing one Vault (the embedded server, through node-vault): the rotation lock
 * and the rotation records are check-and-set entries, so exactly one broker wins a race and
 * the other gets a clear 409.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RotationRecord } from "../../src/rotation/rotation-record.js";
import { createRotationStore } from "../../src/rotation/rotation-store.js";
import { createVaultRecordStore } from "../../src/vault/record-store.js";
import { createVaultClient } from "../../src/vault/vault-client.js";
import { startVaultServer, type VaultServerHandle } from "../helpers/vault-server-process.js";

let server: VaultServerHandle;

beforeAll(async () => {
  server = await startVaultServer({ mode: "dev" });
});
afterAll(async () => {
  await server?.stop();
});

const storeOf = (owner: string) => {
  const client = createVaultClient({ addr: server.addr, token: server.rootToken! });
  const store = createRotationStore(createVaultRecordStore({ client, deployment: "race" }));
  return { owner, store };
};

describe("the rotation lock in a real Vault", () => {
  it("of two brokers racing for one secret's lock, exactly one wins", async () => {
    const brokers = Array.from({ length: 6 }, (_, i) => storeOf(`host-${i}:/state`));
    const expiresAt = Date.now() + 60_000;
    const outcomes = await Promise.allSettled(
      brokers.map(({ owner, store }, i) =>
        store.acquireLock("RacePassword", { rotation: `r${i}`, owner, expiresAt }),
      ),
    );
    const won = outcomes.filter((o) => o.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const lost of outcomes.filter((o) => o.status === "rejected")) {
      expect((lost as PromiseRejectedResult).reason).toMatchObject({
        code: expect.stringMatching(/^STRONGROOM_ERR_ROTATION_(LOCKED|CONFLICT)$/),
        statusCode: 409,
      });
    }
    const holder = await brokers[0]!.store.lockHolder("RacePassword");
    const winner = brokers[outcomes.findIndex((o) => o.status === "fulfilled")]!;
    expect(holder?.owner).toBe(winner.owner);
    // The loser cannot renew or release the winner's lock.
    const loser = brokers.find((b) => b !== winner)!;
    await expect(
      loser.store.renewLock("RacePassword", { ...holder!, owner: loser.owner }),
    ).rejects.toMatchObject({ code: "STRONGROOM_ERR_ROTATION_CONFLICT" });
    await loser.store.releaseLock("RacePassword", {
      rotation: holder!.rotation,
      owner: loser.owner,
    });
    expect((await winner.store.lockHolder("RacePassword"))?.owner).toBe(winner.owner);
    // Once released, another broker takes it.
    await winner.store.releaseLock("RacePassword", holder!);
    await loser.store.acquireLock("RacePassword", {
      rotation: "next",
      owner: loser.owner,
      expiresAt: Date.now() + 60_000,
    });
  });

  it("a rotation record advanced by one broker cannot be overwritten by another's stale copy", async () => {
    const a = storeOf("a:/state");
    const b = storeOf("b:/state");
    const at = new Date().toISOString();
    const record: RotationRecord = {
      id: "rec-1",
      secret: "RacePassword",
      deployment: "race",
      step: "planned",
      status: "running",
      trigger: "operator",
      forced: false,
      fromVersion: 1,
      consumers: [],
      restarted: [],
      createdAt: at,
      updatedAt: at,
      history: [{ step: "planned", at }],
    };
    await a.store.create(record);
    const stale = (await b.store.get("rec-1"))!;
    await a.store.save({ ...record, step: "staged" });
    await expect(b.store.save({ ...stale, step: "applied" })).rejects.toMatchObject({
      code: "STRONGROOM_ERR_ROTATION_CONFLICT",
    });
    expect((await a.store.get("rec-1"))?.step).toBe("staged");
  });
});

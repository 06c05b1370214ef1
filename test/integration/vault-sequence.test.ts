/**
 * serve's bundle sequence counter in a real (embedded, dev-mode) Vault: drawers sharing the KV
 * entry never draw one number twice, a draw whose check-and-set lost reads again and draws above
 * the winner, and a draw that keeps losing gives up with a 409 instead of spinning.
 * Needs the build (the Vault runs as `node bin/strongroom.js vault-server --dev`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { vaultSequence } from "../../src/bundle/vault-sequence.js";
import { DEPLOYMENT_KEYS } from "../../src/vault/kv-layout.js";
import { createVaultRecordStore, type RecordStore } from "../../src/vault/record-store.js";
import { createVaultClient } from "../../src/vault/vault-client.js";
import { startVaultServer, type VaultServerHandle } from "../helpers/vault-server-process.js";

let server: VaultServerHandle;

beforeAll(async () => {
  server = await startVaultServer({ mode: "dev" });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** One replica's view of the deployment's folder: its own client, as a separate process has. */
const storeOf = (deployment: string): RecordStore =>
  createVaultRecordStore({
    client: createVaultClient({ addr: server.addr, token: server.rootToken! }),
    deployment,
  });

/** A store whose writes to the counter first let `rival` draw: every check-and-set loses. */
function losingStore(deployment: string, rival: () => Promise<number>, losses: number) {
  const store = storeOf(deployment);
  const rivalDraws: number[] = [];
  let lost = 0;
  const write: RecordStore["write"] = async (path, data, cas) => {
    if (path === DEPLOYMENT_KEYS.bundleSequence && lost < losses) {
      lost += 1;
      rivalDraws.push(await rival());
    }
    return store.write(path, data, cas);
  };
  return { store: { ...store, write }, rivalDraws };
}

const fixedClock = () => 1_000;

describe("the bundle sequence counter in Vault", () => {
  it("two drawers racing, 25 parallel draws each: every number once, each drawer's increasing", async () => {
    const [a, b] = [storeOf("race"), storeOf("race")].map((records) =>
      vaultSequence(records, { now: fixedClock }),
    );
    const draws = (next: () => Promise<number>) =>
      Promise.all(Array.from({ length: 25 }, () => next()));
    const [fromA, fromB] = await Promise.all([draws(a!), draws(b!)]);
    // Started in array order, drawn one at a time per drawer: increasing in that order.
    for (const drawn of [fromA, fromB]) {
      expect(drawn).toEqual([...drawn].sort((x, y) => x - y));
    }
    const all = [...fromA, ...fromB].sort((x, y) => x - y);
    // The clock (1000) is the floor; after it, each draw is the last one plus one.
    expect(all).toEqual(Array.from({ length: 50 }, (_, i) => 1_000 + i));
    expect(await storeOf("race").read(DEPLOYMENT_KEYS.bundleSequence)).toEqual({ sequence: 1_049 });
  }, 60_000);

  it("a draw whose check-and-set lost reads again and draws above the winner", async () => {
    const rival = vaultSequence(storeOf("lost-once"), { now: fixedClock });
    const { store, rivalDraws } = losingStore("lost-once", rival, 1);
    const next = vaultSequence(store, { now: fixedClock });
    expect(await next()).toBe(1_001);
    expect(rivalDraws).toEqual([1_000]);
    // The clock ahead of the counter wins again.
    expect(await vaultSequence(storeOf("lost-once"), { now: () => 5_000 })()).toBe(5_000);
  }, 60_000);

  it("a draw that keeps losing gives up after its attempts: 409 STRONGROOM_ERR_CAS_MISMATCH", async () => {
    const rival = vaultSequence(storeOf("always-lost"), { now: fixedClock });
    const { store, rivalDraws } = losingStore("always-lost", rival, Number.POSITIVE_INFINITY);
    const next = vaultSequence(store, { now: fixedClock, attempts: 3 });
    await expect(next()).rejects.toMatchObject({
      code: "STRONGROOM_ERR_CAS_MISMATCH",
      statusCode: 409,
      message: expect.stringContaining("bundle sequence, 3 draws lost"),
    });
    expect(rivalDraws).toEqual([1_000, 1_001, 1_002]);
  }, 60_000);

  it("an entry that holds no sequence number is refused, not restarted from the clock", async () => {
    const records = storeOf("garbled");
    await records.write(DEPLOYMENT_KEYS.bundleSequence, { sequence: "twelve" });
    await expect(vaultSequence(records, { now: fixedClock })()).rejects.toMatchObject({
      code: "STRONGROOM_ERR_VAULT",
      message: expect.stringContaining("does not hold a bundle sequence number"),
    });
  }, 60_000);
});

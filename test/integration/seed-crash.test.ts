/**
 * A seed is all or nothing across a crash: the broker is SIGKILLed a quarter of the way through
 * a 20,000-secret seed (a test composition that kills itself after N writes), and the next `up`
 * rolls the unfinished seed back before serving, so the store holds none of its secrets; the
 * secrets seeded before it are untouched. Seeding again then writes all of them, and a re-seed
 * with one changed value reports that name as `differs` (never a value) and keeps the stored one.
 * Needs the build (the CLI runs from dist/).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createVaultKeyManager } from "../../drivers/key-managers/vault/index.js";
import type { KeyManager } from "../../drivers/types.js";
import { createVaultClient } from "../../src/vault/vault-client.js";
import { waitFor } from "../helpers/ports.js";
import { digestOf } from "../helpers/secret-digests.js";
import {
  CRASHING_SEED_UP,
  EXAMPLE_PASSWORDS,
  operatorToken,
  readState,
  runCli,
  startUp,
  type UpHandle,
  vaultServerPids,
} from "../helpers/strongroom-up.js";

const BULK = 20_000;
const CRASH_AFTER = 5_000;
const root = mkdtempSync(join(tmpdir(), "strongroom-seed-crash-"));
const stateDir = join(root, "state");
const bulkName = (i: number) => `Bulk${String(i).padStart(5, "0")}`;
const bulk = Object.fromEntries(
  Array.from({ length: BULK }, (_, i) => [bulkName(i), randomBytes(12).toString("hex")]),
);
const CHANGED = bulkName(4242);

let up: UpHandle | undefined;

afterAll(async () => {
  await up?.stop("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

function keyManager(): KeyManager {
  const client = createVaultClient({
    addr: readState(stateDir).vault.addr,
    token: operatorToken(stateDir),
    ca: readFileSync(join(stateDir, "ca.pem")),
  });
  return createVaultKeyManager({ client, deployment: readState(stateDir).deployment });
}

const bulkStored = async () =>
  (await keyManager().list()).filter((name) => name.startsWith("Bulk")).length;

describe("a seed killed midway", () => {
  const seedFile = join(root, "bulk.json");
  writeFileSync(seedFile, JSON.stringify(bulk));

  it("leaves none of its secrets once the next `up` rolled it back", async () => {
    up = await startUp(stateDir, ["--seed", EXAMPLE_PASSWORDS], {
      readyTimeoutMs: 200_000,
      entry: CRASHING_SEED_UP,
      env: { STRONGROOM_CRASH_AFTER_SEED_WRITES: String(CRASH_AFTER) },
    });
    const before = (await keyManager().list()).length;
    expect(before).toBeGreaterThan(20);

    const seeding = await runCli(stateDir, ["seed", seedFile]);
    expect(seeding.code, "the seed's broker was killed").not.toBe(0);
    expect(await up.stop("SIGKILL"), "killed, no clean exit").toBeNull();
    await waitFor(async () => vaultServerPids(stateDir).length === 0, {
      timeoutMs: 15_000,
      what: "the orphaned Vault server to exit",
    });

    up = await startUp(stateDir, [], { listen: null, readyTimeoutMs: 200_000 });
    expect(await bulkStored(), "none of the unfinished seed's secrets").toBe(0);
    expect((await keyManager().list()).length, "the earlier secrets are all there").toBe(before);
    const log = up.stderr();
    expect(log).toContain("rolled back a seed that did not finish");
    const removed = Number(/"removed":(\d+)/.exec(log)?.[1]);
    expect(removed, "the crash came after some writes, before the last").toBeGreaterThanOrEqual(
      CRASH_AFTER,
    );
    expect(removed).toBeLessThan(BULK);
  }, 400_000);

  it("seeding again writes all of them", async () => {
    const again = await runCli(stateDir, ["seed", seedFile, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    const answer = JSON.parse(again.stdout);
    expect(answer.written).toBe(BULK);
    expect(answer.rolled_back).toBeUndefined();
    expect(await bulkStored()).toBe(BULK);
  }, 400_000);

  it("a re-seed with one changed value names it as differing, keeps the stored value, shows no value", async () => {
    const changedFile = join(root, "bulk-changed.json");
    const changedValue = randomBytes(12).toString("hex");
    writeFileSync(changedFile, JSON.stringify({ ...bulk, [CHANGED]: changedValue }));

    const text = await runCli(stateDir, ["seed", changedFile]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^differs +${CHANGED}$`, "m"));
    expect(text.stdout.match(/^differs /gm)).toHaveLength(1);
    expect(text.stdout).toMatch(/1 kept that differ from the input/);
    expect(text.stdout.includes(changedValue) || text.stdout.includes(bulk[CHANGED]!)).toBe(false);

    const json = await runCli(stateDir, ["seed", changedFile, "--json"]);
    const answer = JSON.parse(json.stdout) as {
      written: number;
      entries: Array<{ name: string; action: string }>;
    };
    expect(answer.written).toBe(0);
    expect(answer.entries.filter((e) => e.action === "differs").map((e) => e.name)).toEqual([
      CHANGED,
    ]);
    const stored = await keyManager().get(CHANGED);
    expect(digestOf(stored?.value), "the stored value is kept").toBe(digestOf(bulk[CHANGED]));
  }, 400_000);
});

/**
 * Who runs `rotate.schedule`: a broker started with `up --no-schedules` runs none, a state dir
 * made by `import` runs none until `up --schedules` (the source site may still run them: two
 * sites must never rotate one account), and `rotations` says they are off. The schedule here is
 * due every second, so a broker that ran it would have rotated within the waits below.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { everySecondSchedule } from "../helpers/every-second-schedule.js";
import { waitFor } from "../helpers/ports.js";
import { runCli, startUp, type UpHandle } from "../helpers/strongroom-up.js";

const root = mkdtempSync(join(tmpdir(), "strongroom-schedules-"));
const at = (name: string) => join(root, name);
const MANIFEST = at("manifest.yaml");
writeFileSync(MANIFEST, everySecondSchedule("sched"));

const SEED = at("passwords.yaml");
writeFileSync(SEED, "parameter_defaults:\n  AppPassword: first-value-0123\n", { mode: 0o600 });

const running: UpHandle[] = [];
afterAll(async () => {
  for (const handle of running) await handle.stop("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

async function up(stateDir: string, args: string[], manifest: string | null = MANIFEST) {
  const handle = await startUp(stateDir, args, { manifest });
  running.push(handle);
  return handle;
}

interface ListAnswer {
  rotations: Array<{ secret: string; trigger?: string }>;
  schedules: Array<{ secret: string; next: string | null; paused?: boolean }>;
}

async function rotations(stateDir: string): Promise<ListAnswer> {
  const result = await runCli(stateDir, ["rotations", "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as ListAnswer;
}

/** Polls until the broker ran its first scheduled rotation; the listing at that moment. */
async function firstScheduledRotation(stateDir: string): Promise<ListAnswer> {
  let listed: ListAnswer | undefined;
  await waitFor(
    async () => {
      listed = await rotations(stateDir);
      return listed.rotations.length > 0;
    },
    { timeoutMs: 15_000, intervalMs: 250, what: "the first scheduled rotation" },
  );
  expect(listed!.rotations[0]).toMatchObject({ secret: "AppPassword", trigger: "schedule" });
  return listed!;
}

const seconds = (n: number) => new Promise((resolve) => setTimeout(resolve, n * 1000));

describe("rotation schedules and up", () => {
  it("up --no-schedules lists the schedule as off and rotates nothing; plain up runs it", async () => {
    const stateDir = at("source");
    const paused = await up(stateDir, ["--no-schedules", "--seed", SEED]);
    await seconds(3);
    const listed = await rotations(stateDir);
    expect(listed.schedules).toEqual([
      expect.objectContaining({ secret: "AppPassword", next: null, paused: true }),
    ]);
    expect(listed.rotations).toEqual([]);
    const text = await runCli(stateDir, ["rotations"]);
    expect(text.stdout).toContain('schedule AppPassword: "* * * * * *", off on this broker');
    expect(paused.stderr()).toContain("rotation schedules are off (--no-schedules)");
    await paused.stop();

    await up(stateDir, [], null);
    const listedNow = await firstScheduledRotation(stateDir);
    expect(listedNow.schedules[0]!.paused).toBeUndefined();
    const table = (await runCli(stateDir, ["rotations"])).stdout.split("\n");
    expect(table[0]).toMatch(/^ID +SECRET +STATUS +STEP +UPDATED$/);
    expect(table[1]).toMatch(/^\S+-AppPassword-\S+ +AppPassword +\S+/);
    await running.pop()!.stop();
  }, 120_000);

  it("an imported state dir runs no schedule until up --schedules", async () => {
    const source = at("source");
    const keygen = await runCli(source, ["keygen", "--out", at("site")]);
    expect(keygen.code, keygen.stderr).toBe(0);
    const exporter = await up(source, ["--no-schedules"], null);
    const bundle = at("sched.bundle");
    const exported = await runCli(source, [
      "export",
      "--recipient",
      at("site.pub"),
      "--out",
      bundle,
    ]);
    expect(exported.code, exported.stderr).toBe(0);
    await exporter.stop();

    const site = at("site-state");
    const imported = await runCli(site, [
      "import",
      bundle,
      "--key",
      at("site.key"),
      "--trust",
      join(source, "broker-bundle.pub"),
      "--state-dir",
      site,
    ]);
    expect(imported.code, imported.stderr).toBe(0);

    const quiet = await up(site, [], null);
    await seconds(3);
    const listed = await rotations(site);
    expect(listed.schedules[0]).toMatchObject({ secret: "AppPassword", paused: true });
    expect(listed.rotations).toEqual([]);
    expect(quiet.stderr()).toContain(
      "rotation schedules are off in an imported state dir: `up --schedules` runs them here",
    );
    await quiet.stop();

    await up(site, ["--schedules"], null);
    await firstScheduledRotation(site);
    await running.pop()!.stop();
  }, 180_000);
});

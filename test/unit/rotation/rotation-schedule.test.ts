import { describe, expect, it } from "vitest";
import type { KeyManager } from "../../../drivers/types.js";
import { missedRun, startRotationSchedules } from "../../../src/rotation/rotation-schedule.js";
import { everySecondSchedule } from "../../helpers/every-second-schedule.js";
import { createMemoryKeyManager } from "../../helpers/memory-key-manager.js";
import { createMemoryRecordStore } from "../../helpers/memory-record-store.js";
import { createMemoryRotations } from "../../helpers/memory-rotations.js";

const withCreated = (keyManager: KeyManager, created: number): KeyManager => ({
  ...keyManager,
  versions: async (id) => (await keyManager.versions(id)).map((v) => ({ ...v, created })),
});

const SCHEDULED = everySecondSchedule("t");

describe("rotation schedules", () => {
  it("reports a run missed since the current version was written, and none when it is recent", async () => {
    const keyManager = createMemoryKeyManager();
    await keyManager.put("AppPassword", "v1");
    const now = new Date("2026-11-25T12:00:00Z");
    const daily = "0 3 * * *";
    const yesterday = Date.parse("2026-11-24T01:00:00Z") / 1000;
    expect(await missedRun(withCreated(keyManager, yesterday), "AppPassword", daily, now)).toBe(
      "2026-11-24T03:00:00.000Z",
    );
    const thisMorning = Date.parse("2026-11-25T04:00:00Z") / 1000;
    expect(
      await missedRun(withCreated(keyManager, thisMorning), "AppPassword", daily, now),
    ).toBeUndefined();
    expect(await missedRun(keyManager, "Unknown", daily, now)).toBeUndefined();
  });

  it("rotates a due secret in the running broker, once per run, and lists the schedule", async () => {
    const { manifest, keyManager, rotations } = await createMemoryRotations(
      'deployment: {name: t}\nsecrets:\n  AppPassword:\n    generator: {kind: alphanumeric, length: 12}\n    rotate: {schedule: "* * * * * *"}\n  Other: {generator: {kind: alphanumeric, length: 12}}\n',
      { AppPassword: "first", Other: "other" },
    );
    const events: string[] = [];
    const scheduler = await startRotationSchedules({
      manifest,
      keyManager,
      rotations,
      log: (_level, event) => events.push(event),
    });
    try {
      expect(scheduler.schedules()).toMatchObject([
        { secret: "AppPassword", schedule: "* * * * * *" },
      ]);
      // The memory key manager dates versions to 1970: a missed run, reported at start.
      expect(scheduler.schedules()[0]!.missed).toBeDefined();
      expect(events).toContain("scheduled rotation missed");
      for (let i = 0; i < 60 && (await rotations.list()).length === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await rotations.idle();
      const done = await rotations.list();
      expect(done.length).toBeGreaterThanOrEqual(1);
      expect(done[0]).toMatchObject({ secret: "AppPassword", trigger: "schedule", status: "done" });
      expect(events).toContain("scheduled rotation started");
      expect(scheduler.schedules()[0]!.missed).toBeUndefined();
      expect((await keyManager.get("Other"))?.version).toBe(1);
    } finally {
      scheduler.stop();
      await rotations.idle();
    }
  });

  it("lists the schedules but rotates nothing when disabled (up --no-schedules, an imported state dir)", async () => {
    const { manifest, keyManager, rotations } = await createMemoryRotations(SCHEDULED, {
      AppPassword: "first",
    });
    const scheduler = await startRotationSchedules({
      manifest,
      keyManager,
      rotations,
      log: () => {},
      enabled: false,
    });
    try {
      expect(scheduler.schedules()).toMatchObject([
        { secret: "AppPassword", schedule: "* * * * * *", next: null, paused: true },
      ]);
      // Every second would be due: two and a half seconds without a rotation.
      await new Promise((r) => setTimeout(r, 2500));
      expect(await rotations.list()).toEqual([]);
      expect((await keyManager.get("AppPassword"))?.version).toBe(1);
    } finally {
      scheduler.stop();
      await rotations.idle();
    }
  });

  it("a scheduled start skips a secret rotated since the run began, and frees its lock", async () => {
    const keyManager = createMemoryKeyManager({}, () => Math.floor(Date.now() / 1000));
    const { rotations } = await createMemoryRotations(
      SCHEDULED,
      { AppPassword: "first" },
      {
        keyManager,
      },
    );
    const runBegan = Date.now() - 60_000;
    expect(
      await rotations.start(["AppPassword"], {
        trigger: "schedule",
        unlessRotatedSince: runBegan,
      }),
    ).toEqual([]);
    expect(await rotations.list()).toEqual([]);
    expect((await keyManager.get("AppPassword"))?.version).toBe(1);
    // The lock was let go: a start for a later run, and an operator's, go ahead.
    const [later] = await rotations.start(["AppPassword"], {
      trigger: "schedule",
      unlessRotatedSince: Date.now() + 2_000,
    });
    expect(later?.trigger).toBe("schedule");
    await rotations.idle();
    expect((await keyManager.get("AppPassword"))?.version).toBe(2);
  });

  it("two brokers on one Vault (serve replicas) both fire every run, and each run rotates once", async () => {
    const keyManager = createMemoryKeyManager({}, () => Math.floor(Date.now() / 1000));
    const records = createMemoryRecordStore();
    const replicas = await Promise.all(
      ["replica-a", "replica-b"].map((owner, i) =>
        createMemoryRotations(SCHEDULED, i === 0 ? { AppPassword: "first" } : {}, {
          keyManager,
          records,
          owner,
        }),
      ),
    );
    const events: string[] = [];
    const schedulers = await Promise.all(
      replicas.map(({ manifest, rotations }) =>
        startRotationSchedules({
          manifest,
          keyManager,
          rotations,
          log: (_level, event) => events.push(event),
        }),
      ),
    );
    try {
      await new Promise((r) => setTimeout(r, 3_300));
    } finally {
      for (const scheduler of schedulers) scheduler.stop();
      await Promise.all(replicas.map(({ rotations }) => rotations.idle()));
    }
    const done = await replicas[0]!.rotations.list();
    expect(done.length).toBeGreaterThanOrEqual(2);
    expect(done.every((r) => r.status === "done")).toBe(true);
    const runs = done.map((r) => r.createdAt.slice(0, 19));
    expect(new Set(runs).size, `one rotation per second: ${runs.join(", ")}`).toBe(runs.length);
    expect((await keyManager.get("AppPassword"))?.version).toBe(1 + done.length);
    const declined = events.filter(
      (e) =>
        e === "scheduled rotation already done by another broker" ||
        e === "scheduled rotation not started",
    );
    expect(declined.length, "the other replica fired too").toBeGreaterThanOrEqual(1);
  });
});

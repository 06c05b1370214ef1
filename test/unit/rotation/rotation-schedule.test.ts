import { describe, expect, it } from "vitest";
import type { KeyManager } from "../../../drivers/types.js";
import { missedRun, startRotationSchedules } from "../../../src/rotation/rotation-schedule.js";
import { createMemoryKeyManager } from "../../helpers/memory-key-manager.js";
import { createMemoryRotations } from "../../helpers/memory-rotations.js";

const withCreated = (keyManager: KeyManager, created: number): KeyManager => ({
  ...keyManager,
  versions: async (id) => (await keyManager.versions(id)).map((v) => ({ ...v, created })),
});

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
    const { manifest, keyManager, rotations } = await createMemoryRotations(
      'deployment: {name: t}\nsecrets:\n  AppPassword:\n    generator: {kind: alphanumeric, length: 12}\n    rotate: {schedule: "* * * * * *"}\n',
      { AppPassword: "first" },
    );
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
});

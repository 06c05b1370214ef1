/**
 * The rotation state machine with in-memory stores and test doubles for the target and the
 * restarter (the real MariaDB, RabbitMQ and processes are in test/integration/rotation*.test.ts).
 * The target double models an account with a set of accepted passwords, as MariaDB's
 * `IDENTIFIED VIA … OR …` has it, so the "someone can always log in" invariant can be checked
 * at every persisted step.
 */
import { describe, expect, it, vi } from "vitest";
import { createDriverRegistry } from "../../../drivers/registry.js";
import type {
  RestarterDriver,
  RotationTarget,
  RotationTargetDriver,
  RotationValues,
} from "../../../drivers/types.js";
import { parseManifest } from "../../../src/config/manifest.js";
import type { AuditEvent } from "../../../src/lib/audit-log.js";
import type { RotationRecord, RotationStep } from "../../../src/rotation/rotation-record.js";
import type { RotationService } from "../../../src/rotation/rotation-service.js";
import { createRotationStore } from "../../../src/rotation/rotation-store.js";
import { createMemoryKeyManager } from "../../helpers/memory-key-manager.js";
import { createMemoryRecordStore } from "../../helpers/memory-record-store.js";
import { createMemoryRotationService } from "../../helpers/memory-rotations.js";

const MANIFEST = `
deployment: { name: test }
secrets:
  AppPassword:
    generator: { kind: alphanumeric, length: 20 }
    target: { kind: command, apply: [set-it], verify: [check-it] }
  KeystoneFernetKeys: {}
  RabbitCookie: {}
services:
  api:
    options: { database: { connection: "db://app:{{ secret.AppPassword }}@h/app" } }
    restart: { kind: recorder }
  worker:
    options: { database: { connection: "db://app:{{ secret.AppPassword }}@h/app" } }
    restart: { kind: recorder }
  unrelated:
    options: { DEFAULT: { debug: { type: boolean, default: false } } }
    restart: { kind: recorder }
`;

interface World {
  accepted: Set<string>;
  restarts: string[];
  failRestartOf: Set<string>;
  failApply: boolean;
  failRollback?: boolean;
}

function doubles(world: World) {
  const target: RotationTargetDriver = {
    kind: "rotation-target",
    name: "command",
    async create() {
      const t: RotationTarget = {
        driver: "command",
        describe: () => ({ kind: "command", accounts: ["app"], overlap: "dual" }),
        accepts: async (password) => world.accepted.has(password),
        async apply(v: RotationValues) {
          if (world.failApply) throw new Error("the server said no");
          world.accepted = new Set([v.current, v.next]);
        },
        async retire(v) {
          world.accepted = new Set([v.next]);
        },
        async rollback(v) {
          if (world.failRollback) throw new Error("the server is read-only");
          world.accepted = new Set([v.current]);
        },
      };
      return t;
    },
  };
  const restarter: RestarterDriver = {
    kind: "restarter",
    name: "recorder",
    create: (_stanza, { service }) => ({
      driver: "recorder",
      async restart() {
        if (world.failRestartOf.has(service)) throw new Error(`${service} did not start`);
        world.restarts.push(service);
      },
    }),
  };
  return createDriverRegistry([target, restarter]);
}

async function setup(
  options: {
    afterPersist?: (step: RotationStep) => void | Promise<void>;
    audit?: (event: AuditEvent) => void;
  } = {},
) {
  const manifest = parseManifest(MANIFEST, "manifest.yaml");
  const keyManager = createMemoryKeyManager({
    AppPassword: "old-password-1",
    RabbitCookie: "cookie",
    KeystoneFernetKeys: { "0": "k" },
  });
  const world: World = {
    accepted: new Set(["old-password-1"]),
    restarts: [],
    failRestartOf: new Set(),
    failApply: false,
  };
  const records = createMemoryRecordStore();
  const make = (hooks = options, broker: { owner?: string; lockTtlMs?: number } = {}) =>
    createMemoryRotationService({
      manifest,
      keyManager,
      store: createRotationStore(records),
      registry: doubles(world),
      owner: broker.owner ?? "host:/state",
      ...(broker.lockTtlMs !== undefined && { lockTtlMs: broker.lockTtlMs }),
      ...(hooks.afterPersist && { afterPersist: hooks.afterPersist }),
      ...(hooks.audit && { audit: hooks.audit }),
    });
  return { manifest, keyManager, world, records, service: make(), make };
}

/**
 * Starts a rotation in a broker that "dies" right after persisting `crashAt`: that step's
 * persist never returns and nothing after it runs. Resolves with the rotation's id.
 */
async function startDyingAt(
  make: Awaited<ReturnType<typeof setup>>["make"],
  crashAt: RotationStep,
): Promise<string> {
  let crashed = false;
  const dying = make({
    afterPersist: (step) => {
      if (step !== crashAt) return;
      crashed = true;
      return new Promise<void>(() => {});
    },
  });
  const [started] = await dying.start(["AppPassword"]);
  await vi.waitUntil(() => crashed, { timeout: 1000, interval: 5 });
  return started!.id;
}

const finished = async (service: RotationService, id: string) => {
  await service.idle();
  return service.get(id);
};

describe("rotation service", () => {
  it("rotates: stage → apply → verify → commit → restart consumers → retire → done", async () => {
    const { service, keyManager, world, records } = await setup();
    const [started] = await service.start(["AppPassword"]);
    const view = await finished(service, started!.id);
    expect(view.status).toBe("done");
    expect(view.history.map((h) => h.step)).toEqual([
      "planned",
      "staged",
      "applied",
      "verified",
      "committed",
      "restarted",
      "retired",
      "done",
    ]);
    const current = await keyManager.get("AppPassword");
    expect(current?.version).toBe(2);
    expect(current?.value === "old-password-1").toBe(false);
    expect([...world.accepted]).toEqual([current?.value]);
    expect(world.restarts).toEqual(["api", "worker"]);
    expect(view).toMatchObject({ fromVersion: 1, toVersion: 2, restarted: ["api", "worker"] });
    // The staged value is never part of the view; the lock is released.
    expect(JSON.stringify(view).includes(String(current?.value))).toBe(false);
    expect(records.entries.get("locks/AppPassword")?.data).toEqual({ released: view.id });
  });

  it("audits every persisted step and a rollback, with the secret and versions, never a value", async () => {
    const audited: AuditEvent[] = [];
    const { service, keyManager, world } = await setup({ audit: (e) => audited.push(e) });
    const [done] = await service.start(["AppPassword"]);
    await finished(service, done!.id);
    expect(audited.map((e) => e.step)).toEqual([
      "staged",
      "applied",
      "verified",
      "committed",
      "restarted",
      "retired",
      "done",
    ]);
    expect(audited.at(-1)).toEqual({
      event: "rotation-step",
      identity: "operator",
      rotation: done!.id,
      secret: "AppPassword",
      step: "done",
      version: 2,
    });
    const current = await keyManager.get("AppPassword");
    const text = JSON.stringify(audited);
    expect(text.includes(String(current?.value)) || text.includes("old-password-1")).toBe(false);

    audited.length = 0;
    world.failApply = true;
    const [failed] = await service.start(["AppPassword"]);
    await finished(service, failed!.id);
    expect(audited.map((e) => e.step)).toEqual(["staged", "rollback"]);
  });

  it("plan changes nothing and names targets, consumers, order and overlap", async () => {
    const { service, keyManager, world, records } = await setup();
    const [plan] = await service.plan(["AppPassword"]);
    expect(plan).toMatchObject({
      secret: "AppPassword",
      currentVersion: 1,
      targets: [{ kind: "command", accounts: ["app"], overlap: "dual" }],
      restartOrder: [["api"], ["worker"]],
    });
    expect(plan!.window).toMatch(/accepts the old and the new value/);
    expect((await keyManager.get("AppPassword"))?.version).toBe(1);
    expect(world.restarts).toEqual([]);
    expect(records.entries.size).toBe(0);
  });

  it("refuses TripleO's do-not-rotate names unless forced, and RabbitCookie always", async () => {
    const { service } = await setup();
    await expect(service.start(["KeystoneFernetKeys"])).rejects.toMatchObject({
      code: "STRONGROOM_ERR_ROTATION_REFUSED",
      message: expect.stringMatching(/--force overrides/),
    });
    await expect(service.start(["RabbitCookie"], { force: true })).rejects.toMatchObject({
      code: "STRONGROOM_ERR_ROTATION_REFUSED",
      message: expect.stringMatching(/Erlang cookie.*not even with --force/),
    });
    const [plan] = await service.plan(["KeystoneFernetKeys"], { force: true });
    expect(plan!.overridden).toBeDefined();
    await expect(service.start(["NoSuchSecret"])).rejects.toMatchObject({
      code: "STRONGROOM_ERR_UNKNOWN_SECRET",
    });
  });

  it("rolls back before commit: the target accepts the current value alone, the store is unchanged", async () => {
    const { service, keyManager, world } = await setup();
    world.failApply = true;
    const [started] = await service.start(["AppPassword"]);
    const view = await finished(service, started!.id);
    expect(view.status).toBe("rolled-back");
    expect(view.rolledBack).toMatch(/the server said no/);
    expect((await keyManager.get("AppPassword"))?.version).toBe(1);
    expect([...world.accepted]).toEqual(["old-password-1"]);
    // A new rotation can start: the lock was released.
    world.failApply = false;
    const [again] = await service.start(["AppPassword"]);
    expect((await finished(service, again!.id)).status).toBe("done");
  });

  it("a consumer that does not come back stops the rollout after commit; --resume finishes it", async () => {
    const { service, keyManager, world } = await setup();
    world.failRestartOf.add("api");
    const [started] = await service.start(["AppPassword"]);
    const failed = await finished(service, started!.id);
    expect(failed).toMatchObject({ status: "failed", step: "committed", restarted: [] });
    expect(failed.error?.message).toMatch(/api.*did not start.*not restarted: worker/);
    expect(failed.resume).toMatch(/restart the consumers/);
    const committed = await keyManager.get("AppPassword");
    expect(committed?.version).toBe(2);
    // Both values still log in: consumers not restarted keep working.
    expect(world.accepted).toEqual(new Set(["old-password-1", committed?.value]));
    await expect(service.start(["AppPassword"])).rejects.toMatchObject({
      code: "STRONGROOM_ERR_ROTATION_UNFINISHED",
    });

    world.failRestartOf.clear();
    await service.resume(started!.id);
    const done = await finished(service, started!.id);
    expect(done.status).toBe("done");
    expect(world.restarts).toEqual(["api", "worker"]);
    expect([...world.accepted]).toEqual([committed?.value]);
    expect((await keyManager.get("AppPassword"))?.version).toBe(2);
  });

  const STEPS: RotationStep[] = [
    "planned",
    "staged",
    "applied",
    "verified",
    "committed",
    "restarted",
    "retired",
  ];
  it.each(STEPS)(
    "killed right after persisting %s: someone can log in, and --resume completes",
    async (crashAt) => {
      const { make, keyManager, world, records } = await setup();
      const id = await startDyingAt(make, crashAt);
      const record = (await records.read(`rotations/${id}`)) as unknown as RotationRecord;
      expect(record.step).toBe(crashAt);
      const candidates = [
        (await keyManager.get("AppPassword"))?.value,
        record.pending,
        (await keyManager.get("AppPassword", 1))?.value,
      ];
      expect(candidates.some((c) => typeof c === "string" && world.accepted.has(c))).toBe(true);

      const restarted = make({});
      expect((await restarted.get(id)).status).toBe("interrupted");
      await restarted.resume(id);
      const view = await finished(restarted, id);
      expect(view.status).toBe("done");
      const current = await keyManager.get("AppPassword");
      expect(current?.version).toBe(2);
      expect(current?.value === (record.pending ?? current?.value)).toBe(true);
      expect([...world.accepted]).toEqual([current?.value]);
    },
  );

  it("another broker (a serve replica) resumes a crashed broker's rotation only once its lock expired: before, resume says so and `resume all` skips it", async () => {
    const { make, keyManager } = await setup();
    const id = await startDyingAt(make, "applied");
    const replica = make({}, { owner: "replica-b:42" });
    await expect(replica.resume(id)).rejects.toMatchObject({
      code: "STRONGROOM_ERR_ROTATION_LOCKED",
      message: expect.stringMatching(
        /being rotated by .* \(broker host:\/state, lock expires in \d+ s\)/,
      ),
    });
    expect(await replica.resume()).toEqual([]);

    // The crashed broker's lock, taken with a short TTL, expires: the replica takes it over.
    const { make: makeShort, keyManager: shortKeys } = await setup();
    const shortId = await startDyingAt((hooks) => makeShort(hooks, { lockTtlMs: 50 }), "applied");
    await new Promise((r) => setTimeout(r, 100));
    const other = makeShort({}, { owner: "replica-b:42" });
    await other.resume(shortId);
    expect((await finished(other, shortId)).status).toBe("done");
    expect((await shortKeys.get("AppPassword"))?.version).toBe(2);
    expect((await keyManager.get("AppPassword"))?.version).toBe(1);
  });

  it.each(["planned", "staged", "applied", "verified"] as const)(
    "--abort after a crash at %s rolls back: the current value alone logs in, the store is unchanged, the secret is free",
    async (crashAt) => {
      const { make, keyManager, world } = await setup();
      const id = await startDyingAt(make, crashAt);

      const restarted = make({});
      const aborted = await restarted.abort(id);
      expect(aborted.status).toBe("rolled-back");
      expect(aborted.rolledBack).toBe(
        `aborted by the operator (it had stopped at interrupted after ${crashAt})`,
      );
      expect((await keyManager.get("AppPassword"))?.version).toBe(1);
      expect([...world.accepted]).toEqual(["old-password-1"]);
      await expect(restarted.abort(id)).rejects.toMatchObject({
        code: "STRONGROOM_ERR_ROTATION_FINISHED",
      });
      const [again] = await restarted.start(["AppPassword"]);
      expect((await finished(restarted, again!.id)).status).toBe("done");
    },
  );

  it("--abort refuses a committed rotation (it only goes forward) and keeps it resumable", async () => {
    const { service, keyManager, world } = await setup();
    world.failRestartOf.add("api");
    const [started] = await service.start(["AppPassword"]);
    expect((await finished(service, started!.id)).status).toBe("failed");
    await expect(service.abort(started!.id)).rejects.toMatchObject({
      code: "STRONGROOM_ERR_ROTATION_COMMITTED",
      message: expect.stringMatching(/can only go forward: strongroom rotate --resume /),
    });
    expect((await keyManager.get("AppPassword"))?.version).toBe(2);
    world.failRestartOf.clear();
    await service.resume(started!.id);
    expect((await finished(service, started!.id)).status).toBe("done");
  });

  it("a rollback that fails keeps the first failure in the record beside its own", async () => {
    const { make, world } = await setup();
    const id = await startDyingAt(make, "applied");
    world.failRollback = true;
    const restarted = make({});
    await expect(restarted.abort(id)).rejects.toMatchObject({
      code: "STRONGROOM_ERR_ROTATION",
      message:
        "rolling back failed: the server is read-only (after: aborted by the operator (it had stopped at interrupted after applied))",
    });
    const view = await restarted.get(id);
    expect(view.status).toBe("failed");
    expect(view.error?.message).toMatch(/\(after: aborted by the operator/);
  }, 20_000);

  it("a lock held by another broker refuses the rotation", async () => {
    const { service, records } = await setup();
    await records.write("locks/AppPassword", {
      rotation: "other",
      owner: "elsewhere:/state",
      expiresAt: Date.now() + 60_000,
    });
    await expect(service.start(["AppPassword"])).rejects.toMatchObject({
      code: "STRONGROOM_ERR_ROTATION_LOCKED",
      message: expect.stringMatching(/being rotated by other \(broker elsewhere/),
    });
    // An expired lock is taken over.
    await records.write("locks/AppPassword", {
      rotation: "other",
      owner: "elsewhere:/state",
      expiresAt: Date.now() - 1,
    });
    const [started] = await service.start(["AppPassword"]);
    expect((await finished(service, started!.id)).status).toBe("done");
  });
});

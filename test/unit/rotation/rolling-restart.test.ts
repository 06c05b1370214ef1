/**
 * The rolling executor with the real `command` restarter and `command` health checks: each
 * consumer's restart is a small `sh` script that appends "start NAME" / "end NAME" to a
 * journal, so order and overlap are read from the journal, never from durations.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createDriverRegistry } from "../../../drivers/registry.js";
import type { RestarterDriver } from "../../../drivers/types.js";
import type { HealthCheck, RollingPolicy } from "../../../src/config/manifest-types.js";
import { isProcessAlive } from "../../../src/lib/process-alive.js";
import {
  type ConsumerPlan,
  NO_RESTARTER_WARNING,
  type RollingRestartOptions,
  rollingRestart,
} from "../../../src/rotation/rolling-restart.js";
import { waitFor } from "../../helpers/ports.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("rolling-");
const ROLLING: RollingPolicy = {
  maxParallel: 1,
  pauseSeconds: 0,
  timeoutSeconds: 300,
  confirmFetch: false,
};

/** `body` runs in `sh` with $0 = the service, $1 = the work dir, $2 = `partner` (when given). */
function consumer(dir: string, service: string, body = "true", partner = "-"): ConsumerPlan {
  const script = `echo "start $0" >> "$1/journal"; ${body}; status=$?; echo "end $0" >> "$1/journal"; exit $status`;
  return {
    service,
    restart: { kind: "command", command: ["sh", "-c", script, "{service}", dir, partner] },
    rolling: ROLLING,
  };
}

const commandHealth = (script: string, retries = 0): HealthCheck => ({
  kind: "command",
  command: ["sh", "-c", script],
  timeoutSeconds: 30,
  retries,
  intervalSeconds: 0.05,
});

const journal = (dir: string) =>
  existsSync(join(dir, "journal"))
    ? readFileSync(join(dir, "journal"), "utf8").trim().split("\n")
    : [];

function run(dir: string, overrides: Partial<RollingRestartOptions>) {
  const events: { event: string; fields: Record<string, unknown> }[] = [];
  const result = rollingRestart({
    consumers: [],
    alreadyDone: new Set(),
    registry: createDriverRegistry(),
    maxParallel: 1,
    stepTimeoutMs: 60_000,
    onRestarted: async (service) => appendFileSync(join(dir, "journal"), `recorded ${service}\n`),
    log: (event, fields) => events.push({ event, fields }),
    ...overrides,
  });
  return { result, events };
}

describe("rolling restarts", () => {
  it("restarts in plan order and records each one before the next starts", async () => {
    const dir = tempDir();
    const consumers = ["a", "b", "c"].map((s) => consumer(dir, s));
    const { result } = run(dir, { consumers });
    expect(await result).toEqual({ ok: true, restarted: ["a", "b", "c"] });
    expect(journal(dir)).toEqual(
      ["a", "b", "c"].flatMap((s) => [`start ${s}`, `end ${s}`, `recorded ${s}`]),
    );
  });

  it("skips services already done; one without a restarter counts as restarted, with a warning", async () => {
    const dir = tempDir();
    const consumers = [consumer(dir, "a"), { service: "b", rolling: ROLLING }, consumer(dir, "c")];
    const { result, events } = run(dir, { consumers, alreadyDone: new Set(["a"]) });
    expect(await result).toEqual({ ok: true, restarted: ["b", "c"] });
    expect(journal(dir)).toEqual(["recorded b", "start c", "end c", "recorded c"]);
    expect(events).toContainEqual({
      event: "restart.no-restarter",
      fields: { service: "b", level: "warn", message: NO_RESTARTER_WARNING },
    });
  });

  it("runs up to maxParallel consumers at once, and never more", async () => {
    const dir = tempDir();
    // Each waits (up to 20 s) for its batch partner to start: serial restarts fail with exit 9.
    const waitForPartner = `touch "$1/started-$0"; i=0; while [ ! -e "$1/started-$2" ]; do sleep 0.05; i=$((i+1)); if [ $i -gt 400 ]; then exit 9; fi; done`;
    const consumers = [
      consumer(dir, "a", waitForPartner, "b"),
      consumer(dir, "b", waitForPartner, "a"),
      consumer(dir, "c", waitForPartner, "d"),
      consumer(dir, "d", waitForPartner, "c"),
    ];
    const { result } = run(dir, { consumers, maxParallel: 2 });
    expect(await result).toEqual({ ok: true, restarted: ["a", "b", "c", "d"] });
    let running = 0;
    let most = 0;
    for (const line of journal(dir)) {
      if (line.startsWith("start ")) most = Math.max(most, ++running);
      if (line.startsWith("end ")) running -= 1;
    }
    expect(most).toBe(2);
    const lines = journal(dir);
    const firstOfSecondBatch = Math.min(lines.indexOf("start c"), lines.indexOf("start d"));
    expect(firstOfSecondBatch).toBeGreaterThan(lines.indexOf("recorded a"));
    expect(firstOfSecondBatch).toBeGreaterThan(lines.indexOf("recorded b"));
  });

  it("stops at the first failure and starts nothing after it", async () => {
    const dir = tempDir();
    const consumers = [
      consumer(dir, "a"),
      consumer(dir, "b", 'echo "first line" >&2; echo "disk on fire" >&2; false'),
      consumer(dir, "c"),
    ];
    const result = await run(dir, { consumers }).result;
    expect(result).toMatchObject({ ok: false, restarted: ["a"], notStarted: ["c"] });
    if (result.ok) throw new Error("expected a failure");
    expect(result.failed.service).toBe("b");
    expect(result.failed.reason).toMatch(
      /^restart of b: `sh -c .*` exited with code 1: disk on fire$/,
    );
    expect(journal(dir)).toEqual(["start a", "end a", "recorded a", "start b", "end b"]);
  });

  it("reports every failure of the batch that failed", async () => {
    const dir = tempDir();
    const consumers = [
      consumer(dir, "a", "exit 2"),
      consumer(dir, "b", "exit 3"),
      consumer(dir, "c"),
    ];
    const result = await run(dir, { consumers, maxParallel: 2 }).result;
    expect(result).toMatchObject({
      ok: false,
      restarted: [],
      failed: { service: "a", reason: expect.stringMatching(/exited with code 2$/) },
      alsoFailed: [{ service: "b", reason: expect.stringMatching(/exited with code 3$/) }],
      notStarted: ["c"],
    });
  });

  it("waits for health through retries, and fails a consumer still unhealthy after them", async () => {
    const dir = tempDir();
    // Healthy from the third attempt on: a counter file stands for a service warming up.
    const warmingUp = `echo x >> "${dir}/attempts"; [ $(wc -l < "${dir}/attempts") -ge 3 ]`;
    const consumers = [
      { ...consumer(dir, "a"), health: commandHealth(warmingUp, 5) },
      { ...consumer(dir, "b"), health: commandHealth("echo 'still down' >&2; exit 1", 2) },
      consumer(dir, "c"),
    ];
    const { result, events } = run(dir, { consumers });
    expect(await result).toEqual({
      ok: false,
      restarted: ["a"],
      failed: {
        service: "b",
        reason:
          "unhealthy after 3 attempt(s): `sh -c \"echo 'still down' >&2; exit 1\"` exited with code 1: still down",
      },
      notStarted: ["c"],
    });
    expect(events).toContainEqual({
      event: "restart.healthy",
      fields: expect.objectContaining({ service: "a", attempts: 3 }),
    });
  });

  it("fails a restart that outlives the consumer's timeout, and stops its process", async () => {
    const dir = tempDir();
    const hanging = consumer(dir, "a", 'echo $$ > "$1/pid"; exec sleep 60');
    const consumers = [
      { ...hanging, rolling: { ...ROLLING, timeoutSeconds: 1 } },
      consumer(dir, "b"),
    ];
    const result = await run(dir, { consumers }).result;
    expect(result).toEqual({
      ok: false,
      restarted: [],
      failed: { service: "a", reason: "restart did not finish within 1 s" },
      notStarted: ["b"],
    });
    const pid = Number(readFileSync(join(dir, "pid"), "utf8"));
    await waitFor(async () => !isProcessAlive(pid), { what: "the hung restart to be stopped" });
  });

  it("fails a health check that outlives the step timeout", async () => {
    const dir = tempDir();
    const consumers = [{ ...consumer(dir, "a"), health: commandHealth("exec sleep 60") }];
    const result = await run(dir, { consumers, stepTimeoutMs: 1000 }).result;
    expect(result).toMatchObject({
      ok: false,
      failed: {
        service: "a",
        reason: 'health check did not finish within 1 s: `sh -c "exec sleep 60"` did not finish',
      },
    });
  });

  it("stops when aborted, during a restart or before one", async () => {
    const dir = tempDir();
    const controller = new AbortController();
    const consumers = [consumer(dir, "a", 'touch "$1/started"; exec sleep 60'), consumer(dir, "b")];
    const { result } = run(dir, { consumers, signal: controller.signal });
    await waitFor(async () => existsSync(join(dir, "started")), { what: "a's restart" });
    controller.abort();
    expect(await result).toEqual({
      ok: false,
      restarted: [],
      failed: { service: "a", reason: "aborted during its restart" },
      notStarted: ["b"],
    });
    expect(await run(dir, { consumers, signal: controller.signal }).result).toEqual({
      ok: false,
      restarted: [],
      failed: { service: "a", reason: "aborted before its restart" },
      notStarted: ["b"],
    });
  });

  it("stops waiting for a restarter that ignores the signal", async () => {
    const dir = tempDir();
    const registry = createDriverRegistry();
    const stuck: RestarterDriver = {
      kind: "restarter",
      name: "stuck",
      create: () => ({ driver: "stuck", restart: () => new Promise<void>(() => undefined) }),
    };
    registry.register(stuck);
    const consumers = [
      { service: "a", restart: { kind: "stuck" }, rolling: { ...ROLLING, timeoutSeconds: 0.5 } },
    ];
    expect(await run(dir, { consumers, registry }).result).toMatchObject({
      ok: false,
      failed: { service: "a", reason: "restart did not finish within 0.5 s" },
    });
  });

  it("explains bad restart stanzas and unknown kinds", async () => {
    const dir = tempDir();
    const consumers = [
      { service: "a", restart: { kind: "command", command: "podman restart a" }, rolling: ROLLING },
      { service: "b", restart: { kind: "nomad" }, rolling: ROLLING },
    ];
    const result = await run(dir, { consumers, maxParallel: 2 }).result;
    expect(result).toMatchObject({
      ok: false,
      failed: {
        service: "a",
        reason:
          'bad command restart stanza: "command" must be a non-empty list of non-empty strings',
      },
      alsoFailed: [
        { service: "b", reason: expect.stringMatching(/^unknown restarter driver "nomad"/) },
      ],
    });
  });

  it("rejects with the engine's error when recording progress fails", async () => {
    const dir = tempDir();
    const consumers = [consumer(dir, "a"), consumer(dir, "b")];
    const onRestarted = async () => {
      throw new Error("state store unavailable");
    };
    await expect(run(dir, { consumers, onRestarted }).result).rejects.toThrow(
      "state store unavailable",
    );
    expect(journal(dir)).toEqual(["start a", "end a"]);
  });
});

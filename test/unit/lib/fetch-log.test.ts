import { describe, expect, it } from "vitest";
import { createFetchLog } from "../../../src/lib/fetch-log.js";

describe("the fetch log", () => {
  const fetchOf = (service: string, versions: Record<string, number>) => ({
    service,
    identity: service,
    via: "certificate" as const,
    what: "ini" as const,
    versions,
  });

  it("finds a fetch made since a time that carried the secret at the version or later", async () => {
    let now = 1_000;
    const log = createFetchLog(() => now);
    log.record(fetchOf("nova", { NovaPassword: 2 }));
    const signal = AbortSignal.timeout(2_000);
    expect(await log.waitForFetch("nova", "NovaPassword", 2, 1_000, signal)).toMatchObject({
      at: 1_000,
      identity: "nova",
    });
    // Too old, too low a version, another service: each waits, and a later fetch ends the wait.
    now = 2_000;
    const waiting = log.waitForFetch("nova", "NovaPassword", 3, 1_500, AbortSignal.timeout(2_000));
    log.record(fetchOf("nova", { NovaPassword: 2 }));
    log.record(fetchOf("cinder", { NovaPassword: 3 }));
    log.record(fetchOf("nova", { NovaPassword: 3, RpcPassword: 1 }));
    expect(await waiting).toMatchObject({ service: "nova", versions: { NovaPassword: 3 } });
  });

  it("gives up when the signal aborts", async () => {
    const log = createFetchLog();
    log.record(fetchOf("nova", { Other: 9 }));
    const started = Date.now();
    expect(await log.waitForFetch("nova", "NovaPassword", 1, 0, AbortSignal.timeout(100))).toBe(
      undefined,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it("keeps a bounded history per service", () => {
    const log = createFetchLog();
    for (let i = 0; i < 200; i++) log.record(fetchOf("nova", { A: i }));
    expect(log.of("nova").length).toBeLessThanOrEqual(64);
    expect(log.of("nova").at(-1)?.versions).toEqual({ A: 199 });
  });
});

import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort, waitFor } from "../../helpers/ports.js";

describe("freePort", () => {
  it("returns a port that can be bound on 127.0.0.1", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(port).toBeLessThan(65_536);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: "127.0.0.1", port }, () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("returns different ports for concurrent calls most of the time", async () => {
    const ports = await Promise.all(Array.from({ length: 5 }, () => freePort()));
    expect(new Set(ports).size).toBeGreaterThan(1);
  });
});

describe("waitFor", () => {
  it("resolves once the condition becomes true", async () => {
    let calls = 0;
    await waitFor(async () => ++calls >= 3, {
      what: "three calls",
      intervalMs: 1,
      timeoutMs: 1_000,
    });
    expect(calls).toBe(3);
  });

  it("polls at least once even with a zero timeout", async () => {
    let calls = 0;
    await waitFor(async () => ++calls === 1, { what: "first call", timeoutMs: 0 });
    expect(calls).toBe(1);
  });

  it("throws 'timed out waiting for <what>' when the condition never holds", async () => {
    const started = Date.now();
    await expect(
      waitFor(async () => false, { what: "the moon", timeoutMs: 50, intervalMs: 10 }),
    ).rejects.toThrow(/^timed out waiting for the moon/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("rethrows an error from the condition at once", async () => {
    let calls = 0;
    await expect(
      waitFor(
        async () => {
          calls++;
          throw new Error("boom");
        },
        { what: "anything", timeoutMs: 1_000, intervalMs: 1 },
      ),
    ).rejects.toThrow("boom");
    expect(calls).toBe(1);
  });
});

import { describe, expect, it } from "vitest";
import { forEachLimit, mapLimit, mapOrdered } from "../../../src/lib/concurrency.js";

const tracked = () => {
  let inFlight = 0;
  let peak = 0;
  return {
    peak: () => peak,
    async run<R>(work: () => Promise<R>): Promise<R> {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        return await work();
      } finally {
        inFlight--;
      }
    },
  };
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("mapLimit", () => {
  it("keeps input order with at most `limit` calls in flight", async () => {
    const t = tracked();
    const out = await mapLimit([...Array(30).keys()], 5, (n) =>
      t.run(async () => {
        await sleep((n * 7) % 4);
        return n * 3;
      }),
    );
    expect(out).toEqual([...Array(30).keys()].map((n) => n * 3));
    expect(t.peak()).toBeLessThanOrEqual(5);
    expect(t.peak()).toBeGreaterThan(1);
  });

  it("throws the first failure only after every started call settled, and starts no more", async () => {
    const settled: number[] = [];
    const started: number[] = [];
    await expect(
      mapLimit([...Array(20).keys()], 4, async (n) => {
        started.push(n);
        await sleep(n === 2 ? 1 : 5);
        settled.push(n);
        if (n === 2) throw new Error("boom");
        return n;
      }),
    ).rejects.toThrow("boom");
    expect(settled.sort((a, b) => a - b)).toEqual(started.sort((a, b) => a - b));
    expect(started.length).toBeLessThan(20);
  });
});

describe("forEachLimit", () => {
  it("drains an async iterable with at most `limit` in flight", async () => {
    const t = tracked();
    async function* numbers() {
      for (let n = 0; n < 25; n++) yield n;
    }
    const seen: number[] = [];
    await forEachLimit(numbers(), 3, (n) =>
      t.run(async () => {
        await sleep(n % 3);
        seen.push(n);
      }),
    );
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(25).keys()]);
    expect(t.peak()).toBeLessThanOrEqual(3);
  });
});

describe("mapOrdered", () => {
  it("yields in input order with at most `window` calls in flight", async () => {
    let inFlight = 0;
    let peak = 0;
    const work = async (n: number) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, (n * 7) % 5));
      inFlight--;
      return n * 2;
    };
    const out: number[] = [];
    for await (const value of mapOrdered([...Array(40).keys()], 4, work)) out.push(value);
    expect(out).toEqual([...Array(40).keys()].map((n) => n * 2));
    expect(peak).toBeLessThanOrEqual(4);
  });

  it("surfaces a failure at its turn, without unhandled rejections from the window", async () => {
    const work = async (n: number) => {
      if (n === 3) throw new Error("boom");
      return n;
    };
    const out: number[] = [];
    await expect(
      (async () => {
        for await (const value of mapOrdered([0, 1, 2, 3, 4, 5], 3, work)) out.push(value);
      })(),
    ).rejects.toThrow("boom");
    expect(out).toEqual([0, 1, 2]);
  });
});

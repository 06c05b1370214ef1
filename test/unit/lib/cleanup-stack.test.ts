import { describe, expect, it } from "vitest";
import { CleanupStack } from "../../../src/lib/cleanup-stack.js";

describe("CleanupStack", () => {
  it("runs the steps newest first and is empty afterwards", async () => {
    const stack = new CleanupStack();
    const ran: string[] = [];
    stack.push(() => {
      ran.push("vault");
    });
    stack.push(async () => {
      ran.push("server");
    });
    await stack.run();
    expect(ran).toEqual(["server", "vault"]);
    expect(stack.size).toBe(0);
    await stack.run();
    expect(ran).toEqual(["server", "vault"]);
  });

  it("runs every step when some fail, then rethrows the first failure", async () => {
    const stack = new CleanupStack();
    const ran: number[] = [];
    const first = new Error("first to fail");
    stack.push(() => {
      ran.push(1);
      throw new Error("second to fail");
    });
    stack.push(() => {
      ran.push(2);
    });
    stack.push(async () => {
      ran.push(3);
      throw first;
    });
    await expect(stack.run()).rejects.toBe(first);
    expect(ran).toEqual([3, 2, 1]);
  });

  it("a removed step does not run; clear() forgets every step", async () => {
    const stack = new CleanupStack();
    const ran: string[] = [];
    const stop = stack.push(() => {
      ran.push("stop");
    });
    stack.push(() => {
      ran.push("remove dir");
    });
    expect(stack.remove(stop)).toBe(true);
    expect(stack.remove(stop)).toBe(false);
    await stack.run();
    expect(ran).toEqual(["remove dir"]);

    stack.push(() => {
      ran.push("never");
    });
    stack.clear();
    await stack.run();
    expect(ran).toEqual(["remove dir"]);
  });

  it("a second run while one is in progress waits for it; each step runs once", async () => {
    const stack = new CleanupStack();
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    stack.push(() => {
      calls += 1;
    });
    stack.push(async () => {
      calls += 1;
      await gate;
    });
    const first = stack.run();
    const second = stack.run();
    let secondDone = false;
    void second.then(() => {
      secondDone = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondDone).toBe(false);
    release();
    await Promise.all([first, second]);
    expect(calls).toBe(2);
  });
});

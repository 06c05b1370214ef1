import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (listen on port 0, read it, close).
 * Another process may take it before the caller binds it; callers that start servers should
 * retry on EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") {
    throw new Error(`unexpected server address: ${String(address)}`);
  }
  return address.port;
}

export interface WaitForOptions {
  /** Give up after this long; default 10 s. */
  timeoutMs?: number;
  /** Pause between polls; default 100 ms. */
  intervalMs?: number;
  /** Named in the error: "timed out waiting for <what>". */
  what: string;
}

/**
 * Polls `fn` until it resolves true. An error thrown by `fn` ends the wait at once and is
 * rethrown (wrap calls that may fail while the thing is not ready, such as fetch, in
 * try/catch and return false). At least one poll always runs, even with timeoutMs 0.
 */
export async function waitFor(fn: () => Promise<boolean>, options: WaitForOptions): Promise<void> {
  const { timeoutMs = 10_000, intervalMs = 100, what } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${what} (after ${timeoutMs} ms)`);
    await sleep(Math.min(intervalMs, left));
  }
}

import type { Logger } from "pino";
import { CleanupStack } from "../lib/cleanup-stack.js";

const SHUTDOWN_GRACE_MS = 20_000;

/**
 * Runs a foreground command (`up`, `serve`): what `start` opens it registers on the cleanup
 * stack, which is run newest first on a signal, an uncaught error, or a failed start.
 */
export async function runInForeground(
  logger: Logger,
  start: (cleanups: CleanupStack) => Promise<void>,
): Promise<void> {
  // Loaded here: the other commands start without it.
  const { default: closeWithGrace } = await import("close-with-grace");
  const cleanups = new CleanupStack();
  const grace = closeWithGrace({ delay: SHUTDOWN_GRACE_MS, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, "unexpected error: shutting down");
    else logger.info(`${signal ?? "exit"}: shutting down`);
    await cleanups.run();
  });
  try {
    await start(cleanups);
  } catch (error) {
    grace.uninstall();
    await cleanups.run().catch(() => undefined);
    throw error;
  }
}

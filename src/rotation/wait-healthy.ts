/**
 * Waits for a restarted consumer to pass its health check: up to 1 + `retries` attempts, each
 * bounded by `timeout_seconds`, `interval_seconds` apart, stopping early when `signal` aborts.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { DriverRegistry } from "../../drivers/registry.js";
import type { HealthCheck } from "../config/manifest-types.js";

export interface HealthResult {
  healthy: boolean;
  attempts: number;
  /** The last attempt's outcome, one line, no values. */
  detail: string;
}

export async function waitHealthy(
  registry: Pick<DriverRegistry, "healthCheck">,
  check: HealthCheck,
  signal: AbortSignal,
): Promise<HealthResult> {
  const { probe } = registry.healthCheck(check.kind);
  const maxAttempts = check.retries + 1;
  let detail = "not checked (aborted)";
  let attempts = 0;
  while (attempts < maxAttempts && !signal.aborted) {
    attempts += 1;
    const attemptTimeout = AbortSignal.timeout(check.timeoutSeconds * 1000);
    const result = await probe(check, AbortSignal.any([signal, attemptTimeout]));
    if (result.ok) return { healthy: true, attempts, detail: result.detail };
    detail =
      attemptTimeout.aborted && !signal.aborted
        ? `${result.detail} within ${check.timeoutSeconds} s`
        : result.detail;
    if (attempts < maxAttempts) {
      await sleep(check.intervalSeconds * 1000, undefined, { signal }).catch(() => undefined);
    }
  }
  return { healthy: false, attempts, detail };
}

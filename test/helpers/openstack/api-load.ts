/**
 * Client load on the real services through HAProxy, as an operator's users make it: every
 * `intervalMs` a fresh token (`POST /v3/auth/tokens`: re-authentication each time), then
 * `GET /resource_providers` with it (Placement validates it with Keystone as its service user).
 * A request fails on a network error or an unexpected status. Tokens never leave this module.
 *
 *   const load = startApiLoad(os, demoAuth);
 *   ...rotate...
 *   const report = await load.stop();   // {requests, failed: [...]}
 */
import { setTimeout as sleep } from "node:timers/promises";
import { issueToken, type PasswordAuth } from "./keystone.js";
import { placementApi } from "./placement.js";

export interface FailedRequest {
  request: "token" | "resource_providers";
  /** HTTP status, or the error's code / name. */
  outcome: string;
  /** ms since the load started. */
  atMs: number;
}

export interface LoadReport {
  /** Requests sent, both kinds. */
  requests: number;
  tokens: number;
  listings: number;
  failed: FailedRequest[];
  durationMs: number;
}

export interface ApiLoad {
  /** Requests so far (to wait for some). */
  readonly requests: number;
  /** Waits for the cycle in flight, then reports. */
  stop(): Promise<LoadReport>;
}

const outcomeOf = (error: unknown): string => {
  const cause = (error as { cause?: { code?: string } })?.cause;
  return cause?.code ?? (error instanceof Error ? error.name : "error");
};

export function startApiLoad(
  urls: { keystoneUrl: string; placementUrl: string },
  auth: PasswordAuth,
  intervalMs = 50,
): ApiLoad {
  const started = performance.now();
  const report: LoadReport = { requests: 0, tokens: 0, listings: 0, failed: [], durationMs: 0 };
  const fail = (request: FailedRequest["request"], outcome: string) =>
    report.failed.push({ request, outcome, atMs: Math.round(performance.now() - started) });
  let running = true;

  const cycle = async () => {
    report.requests++;
    report.tokens++;
    let token: string | undefined;
    try {
      const answer = await issueToken(urls.keystoneUrl, auth);
      if (answer.status === 201 && answer.token) token = answer.token;
      else fail("token", `HTTP ${answer.status}`);
    } catch (error) {
      fail("token", outcomeOf(error));
    }
    if (!token) return;
    report.requests++;
    report.listings++;
    try {
      const listed = await placementApi(urls.placementUrl, token).listResourceProviders();
      if (listed.status !== 200) fail("resource_providers", `HTTP ${listed.status}`);
    } catch (error) {
      fail("resource_providers", outcomeOf(error));
    }
  };

  const loop = (async () => {
    while (running) {
      const next = performance.now() + intervalMs;
      await cycle();
      const wait = next - performance.now();
      if (wait > 0 && running) await sleep(wait);
    }
  })();

  return {
    get requests() {
      return report.requests;
    },
    async stop() {
      running = false;
      await loop;
      report.durationMs = Math.round(performance.now() - started);
      return report;
    },
  };
}

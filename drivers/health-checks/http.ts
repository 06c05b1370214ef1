/**
 * `http` health check: one request (GET unless `method` says HEAD or POST, with the manifest's
 * `headers` and `body`), healthy when the status is `expect_status` (default 200). A check that
 * proves function asks for something the service must look up, e.g. Keystone refusing a token
 * to an unknown user with 401 (its database answers) rather than `GET /v3` (200 even when it fell
 * back to an empty sqlite database). Redirects are not followed (a service answering 300 says so with `expect_status: 300`).
 * https:// URLs verify the server against the system CAs, or `ca_file` when given.
 */
import { readFile } from "node:fs/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { HealthCheck } from "../../src/config/manifest-types.js";
import { errorCode, healthError, type ProbeResult } from "./probe.js";

export const DEFAULT_EXPECT_STATUS = 200;

/** The URL without credentials, query or fragment: safe for logs. */
export function shownUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export async function probeHttp(check: HealthCheck, signal: AbortSignal): Promise<ProbeResult> {
  if (check.url === undefined) throw healthError("an http health check needs a url");
  const url = new URL(check.url);
  const shown = `${check.method && check.method !== "GET" ? `${check.method} ` : ""}${shownUrl(url)}`;
  const expected = check.expectStatus ?? DEFAULT_EXPECT_STATUS;
  let ca: Buffer | undefined;
  if (check.caFile !== undefined) {
    try {
      ca = await readFile(check.caFile);
    } catch (error) {
      throw healthError(`cannot read the health check's ca_file (${errorCode(error)})`, error);
    }
  }
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const onResponse = (response: IncomingMessage) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(
        status === expected
          ? { ok: true, detail: `HTTP ${status} from ${shown}` }
          : { ok: false, detail: `HTTP ${status} from ${shown} (expected ${expected})` },
      );
    };
    // A fresh connection each time: a pooled socket may belong to the process just restarted.
    const method = check.method ?? "GET";
    const body = check.body === undefined ? undefined : Buffer.from(check.body);
    const headers = {
      ...check.headers,
      ...(body && { "content-length": String(body.length) }),
    };
    const req = send(url, { method, headers, agent: false, signal, ...(ca && { ca }) }, onResponse);
    req.once("error", (error) =>
      resolve({
        ok: false,
        detail: `${shown}: ${signal.aborted ? "no answer" : errorCode(error)}`,
      }),
    );
    req.end(body);
  });
}

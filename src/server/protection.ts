import helmet, { type FastifyHelmetOptions } from "@fastify/helmet";
import underPressure from "@fastify/under-pressure";
import Fastify, { type FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { UnavailableError } from "./error-codes.js";

/**
 * helmet's settings for a JSON/text API: nothing may be framed, scripted or sniffed, HTTPS is
 * sticky, no referrer leaks. The browser-window headers (COOP, Origin-Agent-Cluster) and the
 * legacy ones (X-XSS-Protection, X-Download-Options, X-DNS-Prefetch-Control, Flash's
 * cross-domain policies) mean nothing to API clients and are left out.
 */
export const HELMET_OPTIONS: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
  frameguard: { action: "deny" },
};

const NOT_SECURITY_HEADERS = new Set([
  "content-type",
  "content-length",
  "date",
  "connection",
  "keep-alive",
]);

/**
 * The headers @fastify/helmet sends with these options, computed once. The plugin itself
 * rebuilds helmet's middleware on every request, which costs more than a cached lookup.
 */
export async function helmetHeaders(
  options: FastifyHelmetOptions = HELMET_OPTIONS,
): Promise<Record<string, string>> {
  const probe = Fastify({ logger: false });
  await probe.register(helmet, options);
  probe.get("/", async () => "");
  const response = await probe.inject("/");
  await probe.close();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (!NOT_SECURITY_HEADERS.has(name) && typeof value === "string") headers[name] = value;
  }
  return headers;
}

const MAX_EVENT_LOOP_DELAY_MS = 1000;
const SAMPLE_INTERVAL_MS = 1000;
const RETRY_AFTER_SECONDS = 10;

/**
 * Security headers on every response (no response is cacheable: most carry values), and load
 * shedding: 503 STRONGROOM_ERR_UNAVAILABLE once the event loop lags by a second, instead of
 * queueing requests until every client times out. Event-loop utilization is not a trigger: a
 * busy but healthy broker runs near 100 %. The samples taken while the server was still loading
 * its routes (which blocks the loop for a second or more on a busy machine) do not count: the
 * broker's first clients are served, not told to come back in ten seconds.
 */
export const protectionPlugin = fp(
  async (app: FastifyInstance) => {
    let readyAt = Number.POSITIVE_INFINITY;
    app.addHook("onReady", async () => {
      readyAt = performance.now();
    });
    const startupSamplesPassed = () => performance.now() - readyAt > 2 * SAMPLE_INTERVAL_MS;
    const headers = { ...(await helmetHeaders()), "cache-control": "no-store" };
    app.addHook("onRequest", (_request, reply, done) => {
      reply.headers(headers);
      done();
    });
    await app.register(underPressure, {
      maxEventLoopDelay: MAX_EVENT_LOOP_DELAY_MS,
      sampleInterval: SAMPLE_INTERVAL_MS,
      retryAfter: RETRY_AFTER_SECONDS,
      customError: UnavailableError,
      pressureHandler: (_request, reply) => {
        if (!startupSamplesPassed()) return undefined;
        reply.header("retry-after", RETRY_AFTER_SECONDS);
        return Promise.reject(new UnavailableError());
      },
    });
  },
  { name: "strongroom-protection" },
);

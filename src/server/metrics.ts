import type { FastifyInstance, onResponseHookHandler } from "fastify";
import fp from "fastify-plugin";
import { collectDefaultMetrics, Histogram, Registry } from "prom-client";
import { appendRouteHook } from "./route-hooks.js";

/** Probes and the scrape itself would only add noise. */
const UNMEASURED = new Set(["/metrics", "/healthz", "/readyz"]);

/**
 * Prometheus metrics in a registry of this app's own (several apps may live in one process,
 * e.g. in tests): process metrics and `http_request_duration_seconds` by method, route
 * template (`/v1/secrets/:name`, never the requested path) and status. Unknown routes are not
 * recorded, so no label carries a name a caller made up, let alone a value.
 *
 * Each route gets its own onResponse hook with its template captured when it is added.
 * fastify-metrics' generic hooks (a timer object, a WeakMap and two `routeOptions` copies per
 * request) cost more than a cached lookup does.
 */
export const metricsPlugin = fp(
  async (app: FastifyInstance, options: { registry: Registry }) => {
    const { registry } = options;
    collectDefaultMetrics({ register: registry });
    const duration = new Histogram({
      name: "http_request_duration_seconds",
      help: "Request duration in seconds by method, route template and status code",
      labelNames: ["method", "route", "status_code"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    });
    app.addHook("onRoute", (route) => {
      if (UNMEASURED.has(route.url) || route.schema?.hide) return;
      const observe: onResponseHookHandler = (request, reply, done) => {
        duration.observe(
          { method: request.method, route: route.url, status_code: reply.statusCode },
          reply.elapsedTime / 1000,
        );
        done();
      };
      appendRouteHook(route, "onResponse", observe);
    });
  },
  { name: "strongroom-metrics" },
);

export const createMetricsRegistry = () => new Registry();

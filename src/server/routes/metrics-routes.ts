import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Registry } from "prom-client";
import { OPERATOR_SECURITY } from "../openapi.js";
import { ERROR_RESPONSES, textResponse } from "../schemas.js";

/**
 * GET /metrics, for the operator only: request counts by route and status tell who calls the
 * broker and how often. Registered where the auth plugin guards it; exempt from the read rate
 * limit, as a scraper calls it on a fixed period.
 */
export const metricsRoutes: FastifyPluginAsyncTypebox<{ registry: Registry }> = async (
  app,
  { registry },
) => {
  app.get(
    "/metrics",
    {
      config: { rateLimit: false },
      logLevel: "warn",
      schema: {
        operationId: "metrics",
        tags: ["ops"],
        summary: "Prometheus metrics",
        description:
          "Process metrics and request durations by method, route template and status; operator " +
          "only. No label carries a requested path, a name a caller chose, or a value.",
        security: OPERATOR_SECURITY,
        response: { 200: textResponse("Prometheus text exposition format"), ...ERROR_RESPONSES },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
};

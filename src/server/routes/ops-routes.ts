import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Registry } from "prom-client";
import { NotReadyError } from "../error-codes.js";
import { ERROR_RESPONSES, textResponse } from "../schemas.js";
import { StatusAnswer } from "../wire.js";

export interface OpsRoutesOptions {
  ready: () => Promise<boolean>;
  registry: Registry;
}

/** Probes and metrics: no authentication and no rate limit (probes and scrapers are trusted callers). */
export const opsRoutes: FastifyPluginAsyncTypebox<OpsRoutesOptions> = async (
  app,
  { ready, registry },
) => {
  const config = { rateLimit: false } as const;

  app.get(
    "/healthz",
    {
      config,
      logLevel: "warn",
      schema: {
        operationId: "healthz",
        tags: ["ops"],
        summary: "Liveness",
        description: "200 while the process serves HTTP.",
        security: [],
        response: { 200: StatusAnswer, ...ERROR_RESPONSES },
      },
    },
    async () => ({ status: "ok" }),
  );

  app.get(
    "/readyz",
    {
      config,
      logLevel: "warn",
      schema: {
        operationId: "readyz",
        tags: ["ops"],
        summary: "Readiness",
        description:
          "200 once the broker can answer lookups (its Vault is up and unsealed); 503 STRONGROOM_ERR_NOT_READY before.",
        security: [],
        response: { 200: StatusAnswer, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      let isReady = false;
      try {
        isReady = await ready();
      } catch (err) {
        request.log.warn({ err }, "readiness check failed");
      }
      if (!isReady) throw new NotReadyError();
      return { status: "ready" };
    },
  );

  app.get(
    "/metrics",
    {
      config,
      logLevel: "warn",
      schema: {
        operationId: "metrics",
        tags: ["ops"],
        summary: "Prometheus metrics",
        description:
          "Process metrics and request durations by method, route template and status. Unauthenticated: " +
          "no label carries a requested path, a name a caller chose, or a value.",
        security: [],
        response: { 200: textResponse("Prometheus text exposition format"), ...ERROR_RESPONSES },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
};

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { NotReadyError } from "../error-codes.js";
import { ERROR_RESPONSES } from "../schemas.js";
import { StatusAnswer } from "../wire.js";

export interface OpsRoutesOptions {
  ready: () => Promise<boolean>;
}

/** Probes: no authentication and no rate limit (they say only whether the broker is up). */
export const opsRoutes: FastifyPluginAsyncTypebox<OpsRoutesOptions> = async (app, { ready }) => {
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
};

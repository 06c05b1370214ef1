import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { BrokerService } from "../../broker/broker-service.js";
import { type AuditRecorder, requester } from "../audit-trail.js";
import { OPERATOR_SECURITY } from "../openapi.js";
import type { RateLimitPreset } from "../rate-limit.js";
import { ERROR_RESPONSES, SecretParams } from "../schemas.js";
import { PutSecretAnswer, PutSecretBody, SecretsListAnswer } from "../wire.js";

export const secretsRoutes: FastifyPluginAsyncTypebox<{
  broker: BrokerService;
  audit: AuditRecorder;
  writeLimit: RateLimitPreset;
}> = async (app, { broker, audit, writeLimit }) => {
  app.get(
    "/secrets",
    {
      config: { access: "operator" },
      schema: {
        operationId: "listSecrets",
        tags: ["secrets"],
        summary: "Secrets metadata (operator only)",
        description:
          "Name, type, version, creation time and consuming services of every secret. Never values.",
        security: OPERATOR_SECURITY,
        response: { 200: SecretsListAnswer, ...ERROR_RESPONSES },
      },
    },
    async () => ({ secrets: await broker.listSecrets() }),
  );

  app.put(
    "/secrets/:name",
    {
      config: { access: "operator", rateLimit: writeLimit },
      schema: {
        operationId: "putSecret",
        tags: ["secrets"],
        summary: "Write a new version of a secret (operator only)",
        description:
          "Stores `value` as the secret's next version. The value is neither echoed nor logged. " +
          "Rate-limited with the stricter write preset.",
        security: OPERATOR_SECURITY,
        params: SecretParams,
        body: PutSecretBody,
        response: { 200: PutSecretAnswer, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { name } = request.params;
      const { version } = await broker.putSecret(name, request.body.value);
      request.log.info({ secret: name, version }, "secret written");
      audit({ event: "secret-write", ...requester(request), secret: name, version });
      return { name, version };
    },
  );
};

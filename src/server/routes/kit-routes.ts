import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { BrokerService } from "../../broker/broker-service.js";
import { type AuditRecorder, requester } from "../audit-trail.js";
import { OPERATOR_SECURITY } from "../openapi.js";
import { ERROR_RESPONSES, ServiceParams } from "../schemas.js";
import { KitIssuedAnswer, KitIssuedBody } from "../wire.js";
import { requireKnownService } from "./known-service.js";

export const kitRoutes: FastifyPluginAsyncTypebox<{
  broker: BrokerService;
  audit: AuditRecorder;
}> = async (app, { broker, audit }) => {
  app.post(
    "/kits/:service",
    {
      config: { access: "operator" },
      schema: {
        operationId: "recordKitIssued",
        tags: ["castellan"],
        summary: "Record a service kit issued (operator only)",
        description:
          "`strongroom service-kit` mints the kit's AppRole secret-id in Vault with the operator " +
          "token, then calls this route so the broker's audit log records the kit (the service, " +
          "who, and the secret-id's accessor; never the secret-id).",
        security: OPERATOR_SECURITY,
        params: ServiceParams,
        body: KitIssuedBody,
        response: { 200: KitIssuedAnswer, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { service } = request.params;
      requireKnownService(broker, service);
      const accessor = request.body.secret_id_accessor;
      audit({
        event: "kit-issued",
        ...requester(request),
        service,
        ...(accessor && { secretIdAccessor: accessor }),
      });
      request.log.info({ service }, "service kit issued");
      return { service, recorded: true };
    },
  );
};

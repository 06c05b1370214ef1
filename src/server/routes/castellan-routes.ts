import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { BrokerService } from "../../broker/broker-service.js";
import { type AuditRecorder, requester } from "../audit-trail.js";
import { OPERATOR_SECURITY, SERVICE_SECURITY } from "../openapi.js";
import { ERROR_RESPONSES, ServiceParams, TEXT_PLAIN, textResponse } from "../schemas.js";
import { requireKnownService } from "./known-service.js";

// The ids end up in an INI file: the pattern also keeps newlines and brackets out.
const approleId = (description: string) =>
  Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$", maxLength: 256, description });

const CredentialHeaders = Type.Object({
  "x-strongroom-role-id": approleId("The service's AppRole role_id"),
  "x-strongroom-secret-id": approleId("An AppRole secret_id for the service (never logged)"),
});

export const castellanRoutes: FastifyPluginAsyncTypebox<{
  broker: BrokerService;
  audit: AuditRecorder;
}> = async (app, { broker, audit }) => {
  app.get(
    "/castellan/:service/mapping.conf",
    {
      config: { access: "own-service" },
      schema: {
        operationId: "getCastellanMapping",
        tags: ["castellan"],
        summary: "castellan's secrets_mapping.conf for the service",
        description:
          "`[<group>] <option> = <secret id>` for every secret-backed option of the service: the " +
          "`mapping_file` of oslo.config's castellan source.",
        security: SERVICE_SECURITY,
        params: ServiceParams,
        response: { 200: textResponse("INI document"), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { service } = request.params;
      requireKnownService(broker, service);
      const mapping = broker.castellanMapping(service);
      audit({ event: "lookup", ...requester(request), service, scope: "castellan-mapping" });
      return reply.type(TEXT_PLAIN).send(mapping);
    },
  );

  app.get(
    "/castellan/:service/castellan.conf",
    {
      config: { access: "operator" },
      schema: {
        operationId: "getCastellanConfig",
        tags: ["castellan"],
        summary: "castellan.conf for the service (operator only)",
        description:
          "`[key_manager] backend = vault` plus the `[vault]` section with the service's AppRole. " +
          "The broker does not hold AppRole secret_ids, so the operator passes the credentials in the " +
          "`X-Strongroom-Role-Id` and `X-Strongroom-Secret-Id` headers (headers, not the query string, " +
          "which proxies and access logs keep). Operator only: a service gets this file from its " +
          "service kit (`strongroom service-kit`); a service principal is answered 403.",
        security: OPERATOR_SECURITY,
        params: ServiceParams,
        headers: CredentialHeaders,
        response: {
          200: textResponse("INI document containing the secret_id"),
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const { service } = request.params;
      requireKnownService(broker, service);
      const conf = broker.castellanConfig(service, {
        roleId: request.headers["x-strongroom-role-id"],
        secretId: request.headers["x-strongroom-secret-id"],
      });
      audit({ event: "castellan-config", ...requester(request), service });
      return reply.type(TEXT_PLAIN).send(conf);
    },
  );
};

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { BrokerService } from "../../broker/broker-service.js";
import { type AuditRecorder, requester } from "../audit-trail.js";
import { fetcherOf } from "../auth.js";
import { SERVICE_SECURITY } from "../openapi.js";
import { ERROR_RESPONSES, ServiceParams } from "../schemas.js";
import { ServiceFilesAnswer } from "../wire.js";
import { requireKnownService } from "./known-service.js";

export const filesRoutes: FastifyPluginAsyncTypebox<{
  broker: BrokerService;
  audit: AuditRecorder;
}> = async (app, { broker, audit }) => {
  app.get(
    "/files/:service",
    {
      config: { access: "own-service" },
      schema: {
        operationId: "getServiceFiles",
        tags: ["config"],
        summary: "The files holding secrets a service needs (key repositories)",
        description:
          "Keystone's fernet and credential key repositories and other file-shaped secrets, as the " +
          "manifest's `files` of the service place them: a string secret is one file, a map secret " +
          "in TripleO's shape ({<path>: {content}}) one file per entry. `strongroom files SERVICE " +
          "--out DIR` writes them (0600 files, 0700 directories). A service identity's fetch is " +
          "recorded: a rotation of one of these secrets waits for it.",
        security: SERVICE_SECURITY,
        params: ServiceParams,
        response: { 200: ServiceFilesAnswer, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { service } = request.params;
      requireKnownService(broker, service);
      const files = await broker.serviceFiles(service, fetcherOf(request));
      audit({
        event: "lookup",
        ...requester(request),
        service,
        scope: "files",
        secrets: files.map((f) => ({ name: f.secret, version: f.version })),
      });
      reply.header("cache-control", "no-store");
      return { service, files };
    },
  );
};

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Static } from "typebox";
import type { BrokerService, ResolvedOption } from "../../broker/broker-service.js";
import { type AuditRecorder, requester } from "../audit-trail.js";
import { fetcherOf } from "../auth.js";
import { NotFoundError } from "../error-codes.js";
import { SERVICE_SECURITY } from "../openapi.js";
import {
  ERROR_RESPONSES,
  OptionParams,
  ServiceParams,
  TEXT_PLAIN,
  textResponse,
} from "../schemas.js";
import { OptionAnswer, ServiceOptionsAnswer } from "../wire.js";
import { requireKnownService } from "./known-service.js";

type OptionAnswerType = Static<typeof OptionAnswer>;

const JSON_UTF8 = "application/json; charset=utf-8";

/**
 * Serialized answers by answer object. A cached lookup hands out the same (never modified)
 * object until a write invalidates it, so its body is made once, by the route's serializer.
 */
const answerBodies = new WeakMap<ResolvedOption, Buffer>();

export const configRoutes: FastifyPluginAsyncTypebox<{
  broker: BrokerService;
  audit: AuditRecorder;
}> = async (app, { broker, audit }) => {
  app.get(
    "/config/:service/:group/:option",
    {
      // Exempt from the read limit (see RateLimitSettings.read); refusals are still limited.
      config: { access: "own-service", rateLimit: false },
      schema: {
        operationId: "getOption",
        tags: ["config"],
        summary: "Resolve one option",
        description:
          "Resolves (service, group, option) the way oslo.config does: environment, INI overrides, " +
          "the manifest/Castellan source, then the default. The location says where the value came from.",
        security: SERVICE_SECURITY,
        params: OptionParams,
        response: { 200: OptionAnswer, ...ERROR_RESPONSES },
      },
    },
    // Not async: a cached answer is sent without a promise hop, as the JSON its schema made
    // of it the first time.
    (request, reply) => {
      const { service, group, option } = request.params;
      if (!broker.hasOption(service, group, option)) {
        requireKnownService(broker, service);
        throw new NotFoundError(`option [${group}] ${option} of service "${service}"`);
      }
      const audited = (resolved: ResolvedOption) => {
        audit({
          event: "lookup",
          ...requester(request),
          service,
          group,
          option,
          version: resolved.version,
        });
        return resolved;
      };
      const answer = broker.lookup(service, group, option);
      if (answer instanceof Promise) return answer.then(audited);
      audited(answer);
      let body = answerBodies.get(answer);
      if (body === undefined) {
        body = Buffer.from(reply.serialize(answer) as string);
        answerBodies.set(answer, body);
      }
      reply.type(JSON_UTF8);
      return body as unknown as OptionAnswerType;
    },
  );

  app.get(
    "/config/:service",
    {
      config: { access: "own-service" },
      schema: {
        operationId: "getServiceOptions",
        tags: ["config"],
        summary: "Resolve every option of a service",
        description:
          "Every option of the service, resolved, as `{service, groups: {<group>: {<option>: answer}}}` " +
          "where each answer has the shape of GET /v1/config/{service}/{group}/{option}.",
        security: SERVICE_SECURITY,
        params: ServiceParams,
        response: { 200: ServiceOptionsAnswer, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { service } = request.params;
      requireKnownService(broker, service);
      // Null prototype: group and option names come from the manifest and may be "__proto__".
      const groups: Record<string, Record<string, OptionAnswerType>> = Object.create(null);
      let version = 0;
      for (const answer of await broker.serviceOptions(service, fetcherOf(request))) {
        groups[answer.group] ??= Object.create(null);
        (groups[answer.group] as Record<string, OptionAnswerType>)[answer.option] = answer;
        version = Math.max(version, answer.version);
      }
      audit({ event: "lookup", ...requester(request), service, scope: "config", version });
      return { service, groups };
    },
  );

  app.get(
    "/config/:service.conf",
    {
      config: { access: "own-service" },
      schema: {
        operationId: "getServiceIni",
        tags: ["config"],
        summary: "The service's options as an INI document (oslo.config remote_file)",
        description:
          "Every option of the service as oslo-style INI, values quoted and `$` escaped so they " +
          "survive oslo.config's substitution. Served as `text/plain; charset=utf-8`: oslo's " +
          "remote_file decodes any other type as ISO-8859-1.",
        security: SERVICE_SECURITY,
        params: ServiceParams,
        response: { 200: textResponse("INI document"), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { service } = request.params;
      requireKnownService(broker, service);
      const ini = await broker.renderIni(service, fetcherOf(request));
      audit({ event: "lookup", ...requester(request), service, scope: "config.conf" });
      return reply.type(TEXT_PLAIN).send(ini);
    },
  );
};

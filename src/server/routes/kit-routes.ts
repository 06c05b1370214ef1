import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { BrokerService } from "../../broker/broker-service.js";
import type { KitRegistry, KitSelector } from "../../broker/kits.js";
import { type AuditRecorder, requester } from "../audit-trail.js";
import { OPERATOR_SECURITY } from "../openapi.js";
import { ERROR_RESPONSES, ServiceParams } from "../schemas.js";
import {
  KitIssuedAnswer,
  KitIssuedBody,
  KitRevokeAnswer,
  KitRevokeBody,
  KitsAnswer,
} from "../wire.js";
import { requireKnownService } from "./known-service.js";

export const kitRoutes: FastifyPluginAsyncTypebox<{
  broker: BrokerService;
  audit: AuditRecorder;
  /** Kit records and revocation; without it kits are only audited, not listed or revoked. */
  kits?: KitRegistry;
}> = async (app, { broker, audit, kits }) => {
  app.post(
    "/kits/:service",
    {
      config: { access: "operator" },
      schema: {
        operationId: "recordKitIssued",
        tags: ["kits"],
        summary: "Record a service kit issued (operator only)",
        description:
          "`strongroom service-kit` mints the kit's client certificate and AppRole secret-id, " +
          "then calls this route: the broker records the kit (serial, fingerprint, expiries, " +
          "the secret-id's accessor; never the secret-id) for `kits list` and `kits revoke`, " +
          "and its audit log records `kit-issued`.",
        security: OPERATOR_SECURITY,
        params: ServiceParams,
        body: KitIssuedBody,
        response: { 200: KitIssuedAnswer, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { service } = request.params;
      requireKnownService(broker, service);
      const {
        secret_id_accessor: accessor,
        serial,
        fingerprint,
        not_after,
        secret_id_expires,
      } = request.body;
      const who = requester(request);
      if (kits && serial !== undefined) {
        await kits.issued(
          service,
          {
            serial,
            ...(fingerprint && { fingerprint }),
            ...(not_after && { notAfter: not_after }),
            ...(accessor && { secretIdAccessor: accessor }),
            ...(secret_id_expires && { secretIdExpires: secret_id_expires }),
          },
          who.identity,
        );
      }
      audit({
        event: "kit-issued",
        ...who,
        service,
        ...(accessor && { secretIdAccessor: accessor }),
        ...(serial && { serial }),
        ...(secret_id_expires && { secretIdExpires: secret_id_expires }),
      });
      request.log.info({ service }, "service kit issued");
      return { service, recorded: true };
    },
  );

  if (!kits) return;

  app.get(
    "/kits",
    {
      config: { access: "operator" },
      schema: {
        operationId: "listKits",
        tags: ["kits"],
        summary: "Every service kit issued (operator only)",
        description:
          "The kits the broker recorded, with their certificate serial and expiry, secret-id " +
          "accessor and status, plus the secret-ids Vault holds for a service's AppRole that no " +
          "record names (`untracked`: kits of older versions).",
        security: OPERATOR_SECURITY,
        response: { 200: KitsAnswer, ...ERROR_RESPONSES },
      },
    },
    async () => ({ kits: await kits.list() }),
  );

  app.get(
    "/kits/:service",
    {
      config: { access: "operator" },
      schema: {
        operationId: "listServiceKits",
        tags: ["kits"],
        summary: "The kits of one service (operator only)",
        security: OPERATOR_SECURITY,
        params: ServiceParams,
        response: { 200: KitsAnswer, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      requireKnownService(broker, request.params.service);
      return { kits: await kits.list(request.params.service) };
    },
  );

  app.post(
    "/kits/:service/revoke",
    {
      config: { access: "operator" },
      schema: {
        operationId: "revokeKits",
        tags: ["kits"],
        summary: "Revoke one kit or every kit of a service (operator only)",
        description:
          "Destroys the kit's AppRole secret-id in Vault and puts its certificate serial on the " +
          "deny-list every broker of the deployment refuses (STRONGROOM_ERR_KIT_REVOKED, 403). " +
          "`all` also destroys the secret-ids Vault holds for the service that no kit record names.",
        security: OPERATOR_SECURITY,
        params: ServiceParams,
        body: KitRevokeBody,
        response: { 200: KitRevokeAnswer, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { service } = request.params;
      requireKnownService(broker, service);
      const { body } = request;
      const selector: KitSelector = body.all
        ? { all: true }
        : body.serial !== undefined
          ? { serial: body.serial }
          : { secretIdAccessor: body.secret_id_accessor ?? "" };
      const who = requester(request);
      const revoked = await kits.revoke(service, selector, who.identity);
      audit({ event: "kit-revoked", ...who, service, selector, revoked });
      request.log.info({ service, kits: revoked.length }, "service kits revoked");
      return { service, revoked };
    },
  );
};

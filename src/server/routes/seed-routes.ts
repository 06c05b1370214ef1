import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { BrokerService } from "../../broker/broker-service.js";
import { type AuditRecorder, requester } from "../audit-trail.js";
import { OPERATOR_SECURITY } from "../openapi.js";
import type { RateLimitPreset } from "../rate-limit.js";
import { ERROR_RESPONSES } from "../schemas.js";
import { SEED_BODY_LIMIT, SeedAnswer, SeedBody } from "../wire.js";

export const seedRoutes: FastifyPluginAsyncTypebox<{
  broker: BrokerService;
  audit: AuditRecorder;
  seedLimit: RateLimitPreset;
}> = async (app, { broker, audit, seedLimit }) => {
  app.post(
    "/seed",
    {
      bodyLimit: SEED_BODY_LIMIT,
      config: { access: "operator", rateLimit: seedLimit },
      schema: {
        operationId: "seed",
        tags: ["secrets"],
        summary: "Seed secrets from a document (operator only)",
        description:
          "Imports every secret of `text` (a TripleO passwords file, a kolla passwords.yml, YAML, JSON, INI " +
          "or env), generates missing known TripleO parameters and empty kolla keys (kolla-genpwd's rules) unless `generate` is false, all or nothing, even across a " +
          "crash (a seed the broker did not finish is undone first: `rolled_back`). Existing secrets are " +
          "kept; one whose input value differs is listed as `differs`. `dry_run` only plans. The answer " +
          "lists names and actions, never values. Body limit 8 MiB (1 MiB elsewhere).",
        security: OPERATOR_SECURITY,
        body: SeedBody,
        response: { 200: SeedAnswer, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { text, file = "request", format, generate = true, dry_run = false } = request.body;
      const strict = request.body.strict === true && { strict: true };
      const report = await broker.seed({
        text,
        file,
        format,
        generate,
        dryRun: dry_run,
        ...strict,
      });
      request.log.info({ written: report.written, dryRun: report.dryRun }, "seed applied");
      audit({
        event: "seed",
        ...requester(request),
        file,
        dryRun: report.dryRun,
        written: report.written,
        entries: report.entries.map((e) => ({ name: e.name, action: e.action })),
      });
      const { recovered } = report;
      return {
        dry_run: report.dryRun,
        written: report.written,
        entries: report.entries,
        ...(recovered && {
          rolled_back: {
            file: recovered.file,
            started_at: recovered.startedAt,
            secrets: recovered.secrets,
            removed: recovered.removed,
            kept: recovered.kept,
          },
        }),
      };
    },
  );
};

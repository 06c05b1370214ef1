import { PassThrough } from "node:stream";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Static } from "typebox";
import Type from "typebox";
import type { BundleExporter } from "../../bundle/export-store.js";
import { type AuditRecorder, requester } from "../audit-trail.js";
import { OPERATOR_SECURITY } from "../openapi.js";
import type { RateLimitPreset } from "../rate-limit.js";
import { ERROR_RESPONSES } from "../schemas.js";
import {
  BUNDLE_CONTENT_TYPE,
  EXPORT_SUMMARY_TRAILER,
  ExportBody,
  type ExportSummaryAnswer,
} from "../wire.js";

export const exportRoutes: FastifyPluginAsyncTypebox<{
  exporter: BundleExporter;
  audit: AuditRecorder;
  exportLimit: RateLimitPreset;
}> = async (app, { exporter, audit, exportLimit }) => {
  app.post(
    "/export",
    {
      config: { access: "operator", rateLimit: exportLimit },
      schema: {
        operationId: "export",
        tags: ["export"],
        summary: "Export a deployment as a signed bundle sealed to the recipients (operator only)",
        description:
          "Streams a bundle (docs/bundle-format.md) of the deployment's secrets with every kept version, " +
          "its manifest and its service identities, sealed to `recipients` and signed with the broker's " +
          "key (`broker-bundle.pub` in its state dir). Errors found before streaming are JSON; a failure " +
          "while streaming cuts the connection, and only a complete bundle ends with the " +
          `\`${EXPORT_SUMMARY_TRAILER}\` trailer (JSON: counts, bytes, fingerprints).`,
        security: OPERATOR_SECURITY,
        body: ExportBody,
        response: {
          200: {
            description: "The bundle",
            content: { [BUNDLE_CONTENT_TYPE]: { schema: Type.String({ format: "binary" }) } },
          },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const prepared = await exporter.prepare(request.body);
      const who = requester(request);
      const out = new PassThrough();
      // A client that goes away must stop the export, not leave it waiting for 'drain'.
      reply.raw.once("close", () => {
        if (!out.writableFinished) out.destroy(new Error("the client closed the connection"));
      });
      const done = prepared.writeTo(out).then(
        (summary) => {
          if (!out.writableEnded) out.end();
          request.log.info(
            {
              deployment: summary.deployment,
              bytes: summary.bytes,
              recipients: summary.recipients,
            },
            "bundle exported",
          );
          audit({
            event: "export",
            ...who,
            deployment: summary.deployment,
            sequence: summary.sequence,
            bytes: summary.bytes,
            recipients: summary.recipients,
          });
          return summary;
        },
        (error: unknown) => {
          audit({ event: "export-failed", ...who, deployment: prepared.deployment });
          out.destroy(error instanceof Error ? error : new Error(String(error)));
          return undefined;
        },
      );
      reply.trailer(EXPORT_SUMMARY_TRAILER, async () => {
        const summary = await done;
        // Without a summary the stream was cut; an empty trailer would read as success.
        if (!summary) throw new Error("export failed");
        const answer: Static<typeof ExportSummaryAnswer> = summary;
        return JSON.stringify(answer);
      });
      // The type provider types replies from the schema, which describes the bytes, not a stream.
      const body = out as unknown as string;
      return reply
        .type(BUNDLE_CONTENT_TYPE)
        .header("x-strongroom-deployment", prepared.deployment)
        .send(body);
    },
  );
};

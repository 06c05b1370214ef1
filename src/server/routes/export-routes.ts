import { PassThrough } from "node:stream";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { type BundleExporter, MAX_RECIPIENTS } from "../../bundle/export-store.js";
import { DEPLOYMENT_NAME_PATTERN } from "../../config/manifest-schema.js";
import { OPERATOR_SECURITY } from "../openapi.js";
import type { RateLimitPreset } from "../rate-limit.js";
import { ERROR_RESPONSES } from "../schemas.js";

/** The trailer carrying the JSON summary; its absence means the bundle is incomplete. */
export const EXPORT_SUMMARY_TRAILER = "x-strongroom-export-summary";
export const BUNDLE_CONTENT_TYPE = "application/octet-stream";

const ExportBody = Type.Object(
  {
    recipients: Type.Array(
      Type.String({ minLength: 1, maxLength: 4096, description: "A recipient's `.pub` file" }),
      { minItems: 1, maxItems: MAX_RECIPIENTS, description: "Who may open the bundle" },
    ),
    deployment: Type.Optional(
      Type.String({
        pattern: DEPLOYMENT_NAME_PATTERN.source,
        maxLength: 100,
        description: "Default: the broker's own deployment",
      }),
    ),
  },
  { additionalProperties: false },
);

export const exportRoutes: FastifyPluginAsyncTypebox<{
  exporter: BundleExporter;
  exportLimit: RateLimitPreset;
}> = async (app, { exporter, exportLimit }) => {
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
          return summary;
        },
        (error: unknown) => {
          out.destroy(error instanceof Error ? error : new Error(String(error)));
          return undefined;
        },
      );
      reply.trailer(EXPORT_SUMMARY_TRAILER, async () => {
        const summary = await done;
        // Without a summary the stream was cut; an empty trailer would read as success.
        if (!summary) throw new Error("export failed");
        return JSON.stringify(summary);
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

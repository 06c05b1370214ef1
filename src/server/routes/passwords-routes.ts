import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import type { Static } from "typebox";
import type { PasswordFiles } from "../../broker/password-files.js";
import type { PasswordFileFormat, RenderedPasswords } from "../../seed/password-files.js";
import { type AuditRecorder, requester } from "../audit-trail.js";
import { OPERATOR_SECURITY } from "../openapi.js";
import type { RateLimitPreset } from "../rate-limit.js";
import { ERROR_RESPONSES } from "../schemas.js";
import {
  PasswordsAnswer,
  PasswordsDiffAnswer,
  PasswordsDiffBody,
  PasswordsMergeBody,
  PasswordsQuery,
} from "../wire.js";

/**
 * Deployers' passwords files, rendered here so a client gets one file, not the store: like an
 * export, operator only, rate-limited like one and audited (names and counts, never values).
 */
export const passwordsRoutes: FastifyPluginAsyncTypebox<{
  passwords: PasswordFiles;
  audit: AuditRecorder;
  exportLimit: RateLimitPreset;
}> = async (app, { passwords, audit, exportLimit }) => {
  const config = { access: "operator" as const, rateLimit: exportLimit };

  /** Audits a file handed out (names and counts) and answers it. */
  const exported = (
    request: FastifyRequest,
    format: PasswordFileFormat,
    rendered: RenderedPasswords & { deployment: string },
    detail: Record<string, string> = {},
  ): Static<typeof PasswordsAnswer> => {
    const { deployment, text, written, missing } = rendered;
    audit({
      event: "passwords-export",
      ...requester(request),
      deployment,
      format,
      ...detail,
      written: written.length,
    });
    return { deployment, format, text, written: written.length, missing };
  };

  app.get(
    "/passwords",
    {
      config,
      schema: {
        operationId: "passwordsFile",
        tags: ["export"],
        summary: "A deployer's passwords file with the store's values (operator only)",
        description:
          "`kolla`: kolla-ansible's passwords.yml (every template key, sorted as kolla-genpwd writes " +
          "it; null where the store has no value). `tripleo`: overcloud-passwords.yaml " +
          "(`parameter_defaults`). `osp-secret`: RHOSO's Kubernetes Secret, each key copied from its " +
          "TripleO parameter (else its kolla key) through the name map. `text` holds values: " +
          "audited as an export.",
        security: OPERATOR_SECURITY,
        querystring: PasswordsQuery,
        response: { 200: PasswordsAnswer, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { format, deployment } = request.query;
      return exported(request, format, await passwords.render(format, deployment));
    },
  );

  app.post(
    "/passwords/merge",
    {
      config,
      schema: {
        operationId: "passwordsMerge",
        tags: ["export"],
        summary: "An existing kolla passwords.yml with the store's values (operator only)",
        description:
          "Like kolla-mergepwd with the store as the old file: the file's comments and key order are " +
          "kept, a key the store holds gets its value, one it lacks keeps the file's, and kolla " +
          "names the file lacks are added at its end. A file that does not parse is refused " +
          "(file, line and reason). Audited as an export.",
        security: OPERATOR_SECURITY,
        body: PasswordsMergeBody,
        response: { 200: PasswordsAnswer, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { text, file = "passwords.yml", deployment } = request.body;
      return exported(request, "kolla", await passwords.mergeKolla(text, file, deployment), {
        mergedInto: file,
      });
    },
  );

  app.post(
    "/passwords/diff",
    {
      config,
      schema: {
        operationId: "passwordsDiff",
        tags: ["export"],
        summary: "Which keys of an existing osp-secret differ from the store (operator only)",
        description:
          "Compares an existing `osp-secret` YAML (its `data`, base64, and `stringData`) with the one " +
          "the store gives. Answers names only, never values.",
        security: OPERATOR_SECURITY,
        body: PasswordsDiffBody,
        response: { 200: PasswordsDiffAnswer, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { text, file = "osp-secret.yaml", deployment } = request.body;
      const diff = await passwords.diffOspSecret(text, file, deployment);
      audit({
        event: "passwords-diff",
        ...requester(request),
        deployment: diff.deployment,
        file,
        differs: diff.differs,
        missing: diff.missing,
      });
      return diff;
    },
  );
};

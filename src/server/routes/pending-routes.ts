import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { NotImplementedError } from "../error-codes.js";
import { OPERATOR_SECURITY } from "../openapi.js";
import { ERROR_RESPONSES, RotationParams } from "../schemas.js";

const NOT_YET =
  "Not implemented yet: answers 501 STRONGROOM_ERR_NOT_IMPLEMENTED (after authentication).";

/**
 * The rotation routes of a broker built without rotations (tests, embedders): they exist so
 * clients meet a stable, documented 501.
 */
export const pendingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const pending = (what: string) => async () => {
    throw new NotImplementedError(what);
  };
  const schema = (operationId: string, tag: string, summary: string) => ({
    operationId,
    tags: [tag],
    summary,
    description: NOT_YET,
    security: OPERATOR_SECURITY,
    response: ERROR_RESPONSES,
  });
  const config = { access: "operator" } as const;

  app.post(
    "/rotations",
    { config, schema: schema("startRotation", "rotations", "Start a rotation") },
    pending("rotation"),
  );
  app.get(
    "/rotations",
    { config, schema: schema("listRotations", "rotations", "List rotations") },
    pending("rotation"),
  );
  app.get(
    "/rotations/:id",
    {
      config,
      schema: { ...schema("getRotation", "rotations", "One rotation"), params: RotationParams },
    },
    pending("rotation"),
  );
};

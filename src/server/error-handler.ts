import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import { ERRORS, type ErrorFactory, isStrongroomError } from "../lib/errors.js";
import { isPublic5xx, NotFoundError } from "./error-codes.js";

export interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
}

/** fastify's own 4xx errors, answered with a fixed message: theirs may quote the request body. */
const FASTIFY_ERRORS = new Map<string | undefined, [ErrorFactory, string]>([
  ["FST_ERR_CTP_BODY_TOO_LARGE", [ERRORS.STRONGROOM_ERR_BODY_TOO_LARGE, "request body too large"]],
  [
    "FST_ERR_CTP_INVALID_MEDIA_TYPE",
    [
      ERRORS.STRONGROOM_ERR_UNSUPPORTED_MEDIA_TYPE,
      "unsupported content type: send application/json",
    ],
  ],
  ["FST_ERR_CTP_EMPTY_JSON_BODY", [ERRORS.STRONGROOM_ERR_VALIDATION, "the JSON body is empty"]],
  [
    "FST_ERR_CTP_INVALID_JSON_BODY",
    [ERRORS.STRONGROOM_ERR_BAD_REQUEST, "the body is not valid JSON"],
  ],
]);

const answerWith = ({ statusCode, code }: ErrorFactory, message: string): ErrorAnswer => ({
  status: statusCode,
  code,
  message,
});

/** Maps anything thrown while serving a request to the status, code and message a caller sees. */
export function toErrorAnswer(err: FastifyError): ErrorAnswer {
  if (err.validation) {
    // ajv's messages name the field and the rule, never the value.
    return answerWith(ERRORS.STRONGROOM_ERR_VALIDATION, err.message);
  }
  if (isStrongroomError(err)) {
    const status = err.statusCode;
    if (status >= 500 && !isPublic5xx(err.code)) {
      return { status, code: err.code, message: "internal error" };
    }
    return { status, code: err.code, message: err.message };
  }
  const known = FASTIFY_ERRORS.get(err.code);
  if (known) return answerWith(...known);
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return { status, code: ERRORS.STRONGROOM_ERR_BAD_REQUEST.code, message: "malformed request" };
  }
  return answerWith(ERRORS.STRONGROOM_ERR_INTERNAL, "internal error");
}

function handleError(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const answer = toErrorAnswer(err);
  if (answer.status >= 500 && !isPublic5xx(answer.code)) {
    request.log.error({ err }, "request failed");
  }
  // A text/plain route may have set its type before the failure.
  reply
    .code(answer.status)
    .type("application/json; charset=utf-8")
    .send({ error: { code: answer.code, message: answer.message } });
}

/** The one error handler and the 404 handler (rate-limited, so probing for routes costs). */
export const errorHandlerPlugin = fp(
  async (app: FastifyInstance) => {
    app.setErrorHandler(handleError);
    const notFound = async () => {
      throw new NotFoundError("route");
    };
    if (app.hasDecorator("rateLimit"))
      app.setNotFoundHandler({ preHandler: app.rateLimit() }, notFound);
    else app.setNotFoundHandler(notFound);
  },
  { name: "strongroom-error-handler" },
);

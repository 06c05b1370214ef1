import type { FastifyInstance } from "fastify";
import secureJson from "secure-json-parse";
import { ERRORS } from "../lib/errors.js";

/**
 * fastify's own JSON parser answers a `__proto__` or `constructor.prototype` key with the same
 * "not valid JSON" as a syntax error, which sends a caller hunting for a syntax error that is not
 * there. Same parser (secure-json-parse), same refusal, a message that names the reason.
 */
export function useJsonBodies(app: FastifyInstance): void {
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = body as string;
    if (text.length === 0) {
      done(ERRORS.STRONGROOM_ERR_VALIDATION("the JSON body is empty"), undefined);
      return;
    }
    try {
      done(
        null,
        secureJson.parse(text, undefined, { protoAction: "error", constructorAction: "error" }),
      );
    } catch (error) {
      done(
        ERRORS.STRONGROOM_ERR_BAD_REQUEST(
          isPrototypeKey(error)
            ? "the body holds a key JSON bodies may not use here (__proto__ or constructor.prototype)"
            : "the body is not valid JSON",
        ),
        undefined,
      );
    }
  });
}

const isPrototypeKey = (error: unknown) =>
  error instanceof SyntaxError && /forbidden prototype property/.test(error.message);

import type { Duplex } from "node:stream";
import { ERRORS, type ErrorFactory } from "../lib/errors.js";
import { answerUnparsedRequest } from "../lib/raw-http-answer.js";

const PARSER_ERRORS = new Map<string | undefined, [ErrorFactory, string, string]>([
  [
    "HPE_HEADER_OVERFLOW",
    [
      ERRORS.STRONGROOM_ERR_HEADERS_TOO_LARGE,
      "Request Header Fields Too Large",
      "request headers too large",
    ],
  ],
  [
    "ERR_HTTP_REQUEST_TIMEOUT",
    [ERRORS.STRONGROOM_ERR_REQUEST_TIMEOUT, "Request Timeout", "the request took too long"],
  ],
]);

/**
 * fastify's `clientErrorHandler`: a request Node's parser refused (a bad request line or
 * header, headers too large, too slow) gets a typed error and `Connection: close`. fastify's
 * default answer omits that header, so a kept-alive client's next request met a reset.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [factory, reason, message] = PARSER_ERRORS.get(error.code) ?? [
    ERRORS.STRONGROOM_ERR_BAD_REQUEST,
    "Bad Request",
    "malformed HTTP request",
  ];
  const body = JSON.stringify({ error: { code: factory.code, message } });
  answerUnparsedRequest(socket, error, { status: factory.statusCode, reason, body });
}

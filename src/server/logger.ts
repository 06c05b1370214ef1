import { type FastifyReply, type FastifyRequest, LogController } from "fastify";
import type { DestinationStream, LoggerOptions } from "pino";

/** pino options, plus where to write (stdout when absent). */
export type BrokerLoggerOptions = LoggerOptions & { stream?: DestinationStream };

const SENSITIVE_HEADERS = ["authorization", "x-vault-token", "x-strongroom-secret-id", "cookie"];
const SENSITIVE_FIELDS = ["value", "secret_id", "secretId", "token", "password", "text", "body"];

/** Header paths plus each field name at depths 1–3, the way pino's redact paths need them. */
export const REDACT_PATHS = [
  ...SENSITIVE_HEADERS.flatMap((h) => [`req.headers["${h}"]`, `headers["${h}"]`]),
  ...SENSITIVE_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
];

/** Request lines carry the path only: a query string is caller-controlled and may hold anything. */
const requestSerializer = (request: FastifyRequest) => {
  const url = request.url;
  const query = url.indexOf("?");
  return {
    method: request.method,
    url: query === -1 ? url : url.slice(0, query),
    remoteAddress: request.ip,
  };
};

/** The broker's pino options; caller options are merged in, but redaction cannot be turned off. */
export function brokerLoggerOptions(overrides: BrokerLoggerOptions = {}): BrokerLoggerOptions {
  return {
    level: "info",
    ...overrides,
    serializers: { ...overrides.serializers, req: requestSerializer },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
  };
}

/**
 * One line per request, when it completes (at debug for 2xx/3xx, info for 4xx, error for 5xx): fastify's default also logs its arrival, which
 * doubles the logging cost of a lookup. Routes with a higher `logLevel` (the probes) stay quiet.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest() {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ) {
    if (this.isLogDisabled(request)) return;
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, "request errored");
    // Answered lookups are the hot path: one info line each would cost a third of the
    // throughput, so they log at debug; refusals and failures stay visible at info.
    else if (reply.statusCode < 400) reply.log.debug(line, "request completed");
    else reply.log.info(line, "request completed");
  }
}

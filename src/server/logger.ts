import {
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { Bindings, ChildLoggerOptions, DestinationStream, Logger, LoggerOptions } from "pino";

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

type LevelName = "fatal" | "error" | "warn" | "info" | "debug" | "trace";
type LogArguments = Parameters<FastifyBaseLogger["info"]>;

/**
 * A request's logger that becomes a real pino child only when something is logged at an
 * enabled level. fastify makes a child per request, and pino serializes (and redacts) the
 * bindings of each one: on an answered lookup, which logs nothing at the default level, that
 * was a fifth of the broker's time per request.
 */
class DeferredChildLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | undefined;
  #level: string | undefined;

  constructor(
    readonly parent: Logger,
    readonly bindings: Bindings,
    readonly options: ChildLoggerOptions,
  ) {
    this.#level = options.level;
  }

  #logger(): FastifyBaseLogger {
    this.#child ??= this.parent.child(this.bindings, this.options);
    return this.#child;
  }

  #write(level: LevelName, args: LogArguments) {
    const threshold = this.parent.levels.values[this.level];
    // "silent" has no number: nothing is written.
    if (threshold === undefined || (this.parent.levels.values[level] ?? 0) < threshold) return;
    (this.#logger()[level] as (...a: LogArguments) => void)(...args);
  }

  get level(): string {
    return this.#child?.level ?? this.#level ?? this.parent.level;
  }
  set level(level: string) {
    this.#logger().level = level;
  }

  fatal(...args: LogArguments) {
    this.#write("fatal", args);
  }
  error(...args: LogArguments) {
    this.#write("error", args);
  }
  warn(...args: LogArguments) {
    this.#write("warn", args);
  }
  info(...args: LogArguments) {
    this.#write("info", args);
  }
  debug(...args: LogArguments) {
    this.#write("debug", args);
  }
  trace(...args: LogArguments) {
    this.#write("trace", args);
  }
  silent() {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }
}

/** fastify's `childLoggerFactory`: request loggers made on first use (see DeferredChildLogger). */
export const deferredChildLoggerFactory = (
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger => new DeferredChildLogger(logger as Logger, bindings, options);

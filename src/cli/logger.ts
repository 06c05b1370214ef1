import pino, { type DestinationStream, type Logger, type LoggerOptions } from "pino";
import { brokerLoggerOptions } from "../server/logger.js";

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
const HIDDEN_KEYS = new Set(["level", "time", "pid", "hostname", "msg", "reqId", "responseTime"]);

/**
 * Log lines go to stderr (stdout is for the command's own output): JSON in pipes and files,
 * one short readable line per record on a terminal. Redaction is the broker's (values, tokens,
 * secret-ids and credentials headers never appear).
 */
export function createCliLogging(
  options: {
    level?: string;
    pretty?: boolean /** `serve` logs to stdout (fd 1). */;
    fd?: 1 | 2;
  } = {},
): {
  logger: Logger;
  /** The same settings for the broker's fastify instance. */
  options: LoggerOptions & { stream: DestinationStream };
} {
  const fd = options.fd ?? 2;
  const pretty = options.pretty ?? (fd === 2 && process.stderr.isTTY === true);
  const stream: DestinationStream = pretty ? prettyStream() : pino.destination({ fd, sync: true });
  const loggerOptions = brokerLoggerOptions({ level: options.level ?? "info" });
  return { logger: pino(loggerOptions, stream), options: { ...loggerOptions, stream } };
}

function prettyStream(): DestinationStream {
  return {
    write(line: string) {
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        const time = new Date(Number(record.time ?? Date.now())).toTimeString().slice(0, 8);
        const level = LEVELS[Number(record.level)] ?? "INFO";
        process.stderr.write(
          `${time} ${level.padEnd(5)} ${String(record.msg ?? "")}${details(record)}\n`,
        );
      } catch {
        process.stderr.write(line);
      }
    },
  };
}

function details(record: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (HIDDEN_KEYS.has(key) || value === undefined) continue;
    if (key === "req" && typeof value === "object" && value !== null) {
      const req = value as { method?: string; url?: string };
      parts.push(`${req.method} ${req.url}`);
    } else if (key === "res" && typeof value === "object" && value !== null) {
      parts.push(`→ ${(value as { statusCode?: number }).statusCode}`);
    } else if (key === "err" && typeof value === "object" && value !== null) {
      parts.push(`error=${JSON.stringify((value as { message?: string }).message)}`);
    } else {
      parts.push(`${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
    }
  }
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}

/**
 * Where audit records go besides the 0600 file (audit-log.ts): stdout as JSON lines, and/or a
 * syslog collector as RFC 5424 messages over UDP (RFC 5426). Copies off the host are what keep
 * the trail when the state dir's owner rewrites the file, its key and its checkpoint together.
 * A sink never holds up or fails the broker: a lost datagram or a closed stdout is reported to
 * `onError` and the file still has the record. node:dgram, not a syslog package: the maintained
 * ones are logging frameworks, and this is one datagram per line.
 */
import { createSocket } from "node:dgram";
import { isIPv6 } from "node:net";
import { hostname } from "node:os";

export interface AuditSink {
  /** One finished audit line (JSON, newline-terminated). */
  write(line: string): void;
  close(): Promise<void>;
}

export interface SyslogAddress {
  host: string;
  port: number;
}

export interface AuditSinkChoice {
  stdout?: boolean;
  syslog?: SyslogAddress;
}

/** Where `--audit-syslog` sends without an address: the local collector's UDP port. */
export const DEFAULT_SYSLOG_ADDRESS: SyslogAddress = { host: "127.0.0.1", port: 514 };

export function openAuditSinks(
  choice: AuditSinkChoice,
  onError: (error: Error) => void = () => {},
): AuditSink[] {
  const sinks: AuditSink[] = [];
  if (choice.stdout) sinks.push(streamSink(process.stdout, onError));
  if (choice.syslog) sinks.push(syslogSink(choice.syslog, onError));
  return sinks;
}

export function streamSink(
  stream: NodeJS.WritableStream,
  onError: (error: Error) => void,
): AuditSink {
  stream.on("error", onError);
  return {
    write(line) {
      stream.write(line);
    },
    async close() {
      stream.off("error", onError);
    },
  };
}

export function syslogSink(
  address: SyslogAddress,
  onError: (error: Error) => void,
  options: { host?: string; pid?: number } = {},
): AuditSink {
  const socket = createSocket(isIPv6(address.host) ? "udp6" : "udp4");
  socket.on("error", onError);
  socket.unref();
  const host = options.host ?? hostname();
  const pid = options.pid ?? process.pid;
  let sending = 0;
  let drained: (() => void) | undefined;
  return {
    write(line) {
      sending += 1;
      socket.send(syslogMessage(line, { host, pid }), address.port, address.host, (error) => {
        if (error) onError(error);
        sending -= 1;
        if (sending === 0) drained?.();
      });
    },
    async close() {
      if (sending > 0) await new Promise<void>((resolve) => (drained = resolve));
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

/** Facility 13 ("log audit"), severity 6 (informational): `<110>`. */
const PRIORITY = 13 * 8 + 6;
/** What every collector must take over UDP is less (RFC 5426 §3.2); bigger lines are summed up. */
export const SYSLOG_MAX_BYTES = 8192;

/**
 * `<110>1 TIMESTAMP HOST strongroom PID EVENT - {record}` (RFC 5424). A record too big for one
 * datagram (a seed lists every name) is sent as its chain fields and size: the file has it all.
 */
export function syslogMessage(line: string, origin: { host: string; pid: number }): Buffer {
  const record = line.trimEnd();
  const parsed = JSON.parse(record) as { seq?: unknown; time?: unknown; event?: unknown };
  const header = [
    `<${PRIORITY}>1`,
    typeof parsed.time === "string" ? parsed.time : new Date().toISOString(),
    headerField(origin.host, 255),
    "strongroom",
    String(origin.pid),
    headerField(String(parsed.event ?? "-"), 32),
    "-",
  ].join(" ");
  const full = Buffer.from(`${header} ${record}`, "utf8");
  if (full.length <= SYSLOG_MAX_BYTES) return full;
  const { seq, time, event, identity, mac } = parsed as Record<string, unknown>;
  const summary = JSON.stringify({ seq, time, event, identity, mac, truncated: full.length });
  return Buffer.from(`${header} ${summary}`, "utf8");
}

/** RFC 5424 header fields: printable US-ASCII, no spaces, bounded; "-" when empty. */
function headerField(value: string, limit: number): string {
  const printable = value.replace(/[^\x21-\x7e]/g, "").slice(0, limit);
  return printable === "" ? "-" : printable;
}

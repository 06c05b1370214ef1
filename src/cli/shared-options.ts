import { Option } from "@commander-js/extra-typings";
import { type AuditSinkChoice, DEFAULT_SYSLOG_ADDRESS } from "../lib/audit-sinks.js";
import { usageError } from "../lib/errors.js";
import { STATE_DIR_ENV } from "../state/state-dir.js";
import { parseListenAddress } from "./listen-address.js";

/** `--state-dir`: no commander default, so STRONGROOM_STATE_DIR can apply (resolveStateDirPath). */
export const stateDirOption = () =>
  new Option(
    "--state-dir <dir>",
    `strongroom's state directory (default: $${STATE_DIR_ENV} or ./.strongroom)`,
  );

export const jsonOption = () => new Option("--json", "machine-readable JSON on stdout");

/** Progress lines go to stderr, and only on a terminal: pipes and logs stay quiet. */
export function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `--audit-stdout`: every audit record also goes to stdout as a JSON line. */
export const auditStdoutOption = () =>
  new Option("--audit-stdout", "also write each audit record to stdout (JSON lines)");

/** `--audit-syslog [addr]`: every audit record also goes to syslog (RFC 5424 over UDP). */
export const auditSyslogOption = () =>
  new Option(
    "--audit-syslog [addr]",
    `also send each audit record to syslog, RFC 5424 over UDP to HOST:PORT (default: ${DEFAULT_SYSLOG_ADDRESS.host}:${DEFAULT_SYSLOG_ADDRESS.port})`,
  );

/** The sinks the two options above chose (audit-sinks.ts opens them). */
export function auditSinkChoice(options: {
  auditStdout?: boolean;
  auditSyslog?: string | boolean;
}): AuditSinkChoice {
  const { auditStdout, auditSyslog } = options;
  return {
    ...(auditStdout && { stdout: true }),
    ...(auditSyslog === true && { syslog: DEFAULT_SYSLOG_ADDRESS }),
    ...(typeof auditSyslog === "string" && { syslog: syslogAddress(auditSyslog) }),
  };
}

function syslogAddress(value: string): { host: string; port: number } {
  try {
    return parseListenAddress(
      /:\d+$/.test(value) ? value : `${value}:${DEFAULT_SYSLOG_ADDRESS.port}`,
    );
  } catch {
    throw usageError(`--audit-syslog: expected HOST[:PORT] or [IPv6]:PORT, not "${value}"`);
  }
}

import { type Command, Option } from "@commander-js/extra-typings";
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

/** `STRONGROOM_<FLAG_UPPER_SNAKE>`: where `serve` and `bootstrap` also read a flag (Kubernetes). */
export const flagEnvName = (long: string) =>
  `STRONGROOM_${long.replace(/^--/, "").replace(/-/g, "_").toUpperCase()}`;

/** An option of `serve`/`bootstrap` that may also come from its STRONGROOM_* variable. */
export function envOption<Flags extends string>(flags: Flags, description: string) {
  return fromEnv(new Option(flags, description));
}

/** `option`, also read from its STRONGROOM_* variable (for the option factories below). */
export function fromEnv<O extends Option<string>>(option: O): O {
  return option.env(flagEnvName(option.long!));
}

/** The options `serve` and `bootstrap` share: the deployment and the Vault it lives in. */
export function addVaultOptions<C extends Command>(command: C) {
  return command
    .addOption(
      envOption("--manifest <file>", "the deployment manifest (YAML)").makeOptionMandatory(),
    )
    .addOption(
      envOption(
        "--vault-addr <url>",
        "the Vault (or OpenBao) address, https://HOST:PORT",
      ).makeOptionMandatory(),
    )
    .addOption(envOption("--vault-ca <file>", "the CA bundle (PEM) that verifies the Vault's TLS"))
    .addOption(
      envOption("--kv-mount <mount>", "the KV v2 mount holding the secrets").default("secret"),
    );
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

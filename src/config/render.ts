/**
 * The files oslo.config consumers read natively: the INI document for its `remote_file`
 * source, and castellan's secrets_mapping.conf and castellan.conf.
 *
 * Every value must reach the service byte for byte through two transformations:
 * 1. oslo's INI parser (oslo-ini.ts): values are stripped, lose one pair of quotes, and only
 *    continuation lines carry newlines (each stripped; a blank line ends the value);
 * 2. oslo's `$` substitution, applied to values from every source (escapeOsloTemplate).
 * So each value is `$`-escaped, its first line is wrapped in double quotes (which keeps
 * leading and trailing spaces, quotes, `#` and `;`), and later lines become continuation
 * lines. Values these rules cannot carry are refused with a clear error instead of arriving
 * altered; test/compat/oslo-render.test.ts checks the result with the real oslo.config.
 * (The `ini` package's stringify does not fit: it backslash-escapes `;`, `#` and quotes and
 * writes newlines as `\n`, all of which oslo would read literally.)
 */
import { ERRORS } from "../lib/errors.js";
import type { OptionRef } from "./oslo-types.js";
import { pyStrip } from "./python-text.js";
import { escapeOsloTemplate } from "./template.js";

const undeliverable = (where: OptionRef | string, reason: string) =>
  ERRORS.STRONGROOM_ERR_VALUE_UNDELIVERABLE(
    `${typeof where === "string" ? where : `${where.service} [${where.group}] ${where.option}`}: ${reason}`,
  );

/** Why the INI form cannot carry `value`, or undefined when it can. */
export function iniProblem(value: string): string | undefined {
  if (value.includes("\r"))
    return "the value contains a carriage return, which oslo.config's INI parser reads as a line break";
  const [, ...rest] = value.split("\n");
  if (rest.some((line) => line === "" || pyStrip(line) !== line)) {
    return "a line after the first is empty or starts or ends with whitespace, which oslo.config's INI parser cannot keep";
  }
  return undefined;
}

/** `key = "<first line>"` plus continuation lines, for an already `$`-escaped value. */
function iniAssignment(key: string, escaped: string, where: OptionRef | string): string {
  const problem = iniProblem(escaped);
  if (problem) throw undeliverable(where, problem);
  const [first = "", ...rest] = escaped.split("\n");
  return [`${key} = "${first}"`, ...rest.map((line) => `    ${line}`)].join("\n");
}

/** `key = value` for an oslo.config INI file: `$`-escaped, quoted, refused when undeliverable. */
export function iniLine(key: string, value: string, where: OptionRef | string): string {
  return iniAssignment(key, escapeOsloTemplate(value), where);
}

/** The key oslo looks an option up by: its `dest`. */
export const osloDest = (option: string): string => option.replaceAll("-", "_");

export interface RenderedOption {
  option: string;
  /** One value, or every occurrence of a multi-valued option; raw (not yet escaped). */
  values: readonly string[];
}

export interface RenderedGroup {
  group: string;
  options: readonly RenderedOption[];
}

/** The INI document for oslo's remote_file source. Groups without options are left out. */
export function renderOsloIni(service: string, groups: readonly RenderedGroup[]): string {
  const sections: string[] = [];
  for (const { group, options } of groups) {
    if (options.length === 0) continue;
    const lines = [`[${group}]`];
    for (const { option, values } of options) {
      const where = { service, group, option };
      for (const value of values) {
        lines.push(iniAssignment(osloDest(option), escapeOsloTemplate(value), where));
      }
    }
    sections.push(lines.join("\n"));
  }
  return sections.length === 0 ? "" : `${sections.join("\n\n")}\n`;
}

export interface MappingEntry {
  group: string;
  option: string;
  castellanId: string;
}

/**
 * castellan's secrets_mapping.conf. castellan matches groups case-sensitively against the
 * registered name and uses ids verbatim (no `$` substitution), so both are written as is.
 */
export function renderCastellanMapping(entries: readonly MappingEntry[]): string {
  const byGroup = new Map<string, MappingEntry[]>();
  for (const entry of entries) {
    const list = byGroup.get(entry.group) ?? [];
    list.push(entry);
    byGroup.set(entry.group, list);
  }
  const sections = [...byGroup].map(([group, list]) =>
    [`[${group}]`, ...list.map((e) => `${osloDest(e.option)} = ${e.castellanId}`)].join("\n"),
  );
  return sections.length === 0 ? "" : `${sections.join("\n\n")}\n`;
}

export interface CastellanConfigInput {
  vaultUrl: string;
  roleId: string;
  secretId: string;
  kvMount: string;
  /** Path of the CA bundle on the service's node; used for https URLs only. */
  caFile?: string;
  /** Comment lines put first (without the `# `). */
  comments?: readonly string[];
}

/** castellan.conf: castellan reads it with oslo.config, so values are escaped like options. */
export function renderCastellanConfig(input: CastellanConfigInput): string {
  const value = (key: string, v: string) => iniLine(key, v, `castellan.conf [vault] ${key}`);
  const vault = [
    "[vault]",
    value("vault_url", input.vaultUrl),
    value("approle_role_id", input.roleId),
    value("approle_secret_id", input.secretId),
    value("kv_mountpoint", input.kvMount),
    "kv_version = 2",
  ];
  if (input.vaultUrl.startsWith("https://") && input.caFile) {
    vault.push(value("ssl_ca_crt_file", input.caFile));
  }
  const comments = (input.comments ?? []).map((line) => `# ${line}\n`).join("");
  return `${comments}[key_manager]\nbackend = vault\n\n${vault.join("\n")}\n`;
}

/**
 * oslo.config's INI dialect (`iniparser.BaseParser` + `cfg.ConfigParser`, reference §1.7), the
 * one its config files, remote_file and castellan's mapping file share.
 *
 * Not the `ini` npm package: that one treats `;` and `#` after a value as comments, unescapes
 * backslashes, turns `key[]` into arrays, has no `:` separator and no continuation lines, so
 * it reads many legal oslo files differently (test/unit/config/oslo-ini.test.ts shows cases).
 * Correctness to oslo wins, so this is a straight port of oslo's parser.
 */
import { StrongroomError } from "../lib/errors.js";
import { pyLstrip, pyRstrip, pyStrip, pyTextLines } from "./python-text.js";

export interface IniAssignment {
  /** The section as written (oslo normalizes it only for option lookups). */
  section: string;
  key: string;
  value: string;
  line: number;
}

export interface OsloIniDocument {
  file: string;
  assignments: readonly IniAssignment[];
}

/** Every section but DEFAULT is looked up lower-cased. */
export const normalizeGroupName = (group: string): string =>
  group === "DEFAULT" ? group : group.toLowerCase();

const syntaxError = (file: string, line: number, reason: string) =>
  new StrongroomError("STRONGROOM_ERR_INI_SYNTAX", `${file}:${line}: ${reason}`, {
    statusCode: 400,
  });

/** oslo's `_split_key_value`: the first of `:` or `=` separates; the value loses one pair of
 * surrounding quotes (a lone quote character counts as a pair, as `value[0] == value[-1]`). */
function splitKeyValue(line: string): { key: string; value: string } | undefined {
  const colon = line.indexOf(":");
  const equal = line.indexOf("=");
  if (colon < 0 && equal < 0) return undefined;
  const sep = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
  let value = pyStrip(line.slice(sep + 1));
  if (value !== "" && value[0] === value.at(-1) && (value[0] === '"' || value[0] === "'")) {
    value = value.slice(1, -1);
  }
  return { key: pyStrip(line.slice(0, sep)), value };
}

export function parseOsloIni(text: string, file: string): OsloIniDocument {
  const assignments: IniAssignment[] = [];
  let section: string | undefined;
  let pending: { key: string; pieces: string[]; line: number } | undefined;

  const flush = () => {
    if (!pending) return;
    if (section === undefined) {
      throw syntaxError(file, pending.line, "Section must be started before assignment");
    }
    assignments.push({
      section,
      key: pending.key,
      value: pending.pieces.join("\n"),
      line: pending.line,
    });
    pending = undefined;
  };

  for (const [index, raw] of pyTextLines(text).entries()) {
    const lineNo = index + 1;
    const line = pyRstrip(raw);
    if (line === "") {
      flush();
      continue;
    }
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (!pending) throw syntaxError(file, lineNo, "Unexpected continuation line");
      pending.pieces.push(pyLstrip(line));
      continue;
    }
    flush();
    if (line.startsWith("[")) {
      if (!line.endsWith("]")) throw syntaxError(file, lineNo, "Invalid section (must end with ])");
      if (line.length <= 2) throw syntaxError(file, lineNo, "Empty section name");
      section = line.slice(1, -1);
    } else if (!line.startsWith("#") && !line.startsWith(";")) {
      const pair = splitKeyValue(line);
      if (!pair) throw syntaxError(file, lineNo, "No ':' or '=' found in assignment");
      if (pair.key === "") throw syntaxError(file, lineNo, "Key cannot be empty");
      pending = { key: pair.key, pieces: [pair.value], line: lineNo };
    }
  }
  flush();
  return { file, assignments };
}

/** Every value of `key` in `group`, in file order (a single-valued option uses the last). */
export function iniValues(
  doc: OsloIniDocument,
  group: string,
  key: string,
  options: { normalize: boolean } = { normalize: true },
): IniAssignment[] {
  const wanted = options.normalize ? normalizeGroupName(group) : group;
  return doc.assignments.filter(
    (a) =>
      a.key === key && (options.normalize ? normalizeGroupName(a.section) : a.section) === wanted,
  );
}

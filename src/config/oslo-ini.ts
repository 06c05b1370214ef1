/**
 * oslo.config's INI dialect (`iniparser.BaseParser` + `cfg.ConfigParser`, reference §1.7), the
 * one its config files, remote_file and castellan's mapping file share.
 *
 * Not the `ini` npm package: that one treats `;` and `#` after a value as comments, unescapes
 * backslashes, turns `key[]` into arrays, has no `:` separator and no continuation lines, so
 * it reads many legal oslo files differently (test/unit/config/oslo-ini.test.ts shows cases).
 * Correctness to oslo wins, so this is a straight port of oslo's parser.
 */
import { ERRORS } from "../lib/errors.js";
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
  ERRORS.STRONGROOM_ERR_INI_SYNTAX(`${file}:${line}: ${reason}`);

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

/** What a line can get wrong; `reason` carries oslo's own wording for it. */
export type IniProblemKind = "continuation" | "section" | "separator" | "no-section" | "empty-key";

/** One syntax problem: the line and what is wrong with it, never the line's text (a
 * malformed line may be a pasted secret). */
export interface IniProblem {
  line: number;
  kind: IniProblemKind;
  reason: string;
}

/** A well-formed section header, as written. */
export interface IniSectionHeader {
  name: string;
  line: number;
}

export interface OsloIniScan extends OsloIniDocument {
  /** Every well-formed section header in file order, including those with no assignments. */
  sections: readonly IniSectionHeader[];
  /** Every problem in line order, at most one a line. */
  problems: readonly IniProblem[];
}

/**
 * Reads the whole file with oslo's line rules and collects every problem instead of stopping
 * at the first, for callers that report all of them at once. Scanning goes on after a problem:
 * - a line with a problem yields no assignment, and the indented lines after it go with it
 *   (oslo's grammar makes them its continuation) without problems of their own;
 * - after a malformed section header the section is unknown until the next good header: the
 *   assignments in between are dropped, without further problems.
 */
export function scanOsloIni(text: string, file: string): OsloIniScan {
  const assignments: IniAssignment[] = [];
  const sections: IniSectionHeader[] = [];
  const problems: IniProblem[] = [];
  /** `undefined` before any header, `null` after a malformed one. */
  let section: string | null | undefined;
  /** The entry continuation lines extend; it has no assignment when its line had a problem. */
  let pending: { assignment?: Omit<IniAssignment, "value">; pieces: string[] } | undefined;

  const problem = (line: number, kind: IniProblemKind, reason: string) => {
    problems.push({ line, kind, reason });
  };
  const flush = () => {
    if (pending?.assignment) {
      const { section, key, line } = pending.assignment;
      assignments.push({ section, key, value: pending.pieces.join("\n"), line });
    }
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
      if (!pending) problem(lineNo, "continuation", "Unexpected continuation line");
      else pending.pieces.push(pyLstrip(line));
      continue;
    }
    flush();
    if (line.startsWith("[")) {
      if (!line.endsWith("]")) {
        problem(lineNo, "section", "Invalid section (must end with ])");
        section = null;
      } else if (line.length <= 2) {
        problem(lineNo, "section", "Empty section name");
        section = null;
      } else {
        section = line.slice(1, -1);
        sections.push({ name: section, line: lineNo });
      }
    } else if (!line.startsWith("#") && !line.startsWith(";")) {
      const pair = splitKeyValue(line);
      pending = { pieces: [] };
      if (!pair) problem(lineNo, "separator", "No ':' or '=' found in assignment");
      else if (pair.key === "") problem(lineNo, "empty-key", "Key cannot be empty");
      else if (section === undefined) {
        problem(lineNo, "no-section", "Section must be started before assignment");
      } else if (section !== null) {
        pending = { assignment: { section, key: pair.key, line: lineNo }, pieces: [pair.value] };
      }
    }
  }
  flush();
  return { file, assignments, sections, problems };
}

/** Reads a file as oslo.config does: the first syntax problem is an error. */
export function parseOsloIni(text: string, file: string): OsloIniDocument {
  const { assignments, problems } = scanOsloIni(text, file);
  const first = problems[0];
  if (first) throw syntaxError(file, first.line, first.reason);
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

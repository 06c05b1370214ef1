import ini from "ini";
import { describe, expect, it } from "vitest";
import { iniValues, parseOsloIni, scanOsloIni } from "../../../src/config/oslo-ini.js";
import { StrongroomError } from "../../../src/lib/errors.js";

const lines = (...l: string[]) => `${l.join("\n")}\n`;
const values = (text: string, group: string, key: string) =>
  iniValues(parseOsloIni(text, "t.conf"), group, key).map((a) => a.value);

function syntaxError(text: string): string {
  try {
    parseOsloIni(text, "t.conf");
  } catch (err) {
    expect(err).toBeInstanceOf(StrongroomError);
    expect((err as StrongroomError).code).toBe("STRONGROOM_ERR_INI_SYNTAX");
    return (err as Error).message;
  }
  throw new Error("expected a syntax error");
}

describe("oslo.config's INI dialect", () => {
  it("splits on whichever of '=' or ':' comes first and strips key and value", () => {
    const text = lines("[DEFAULT]", "a = 1 ", "b: x=y", "c = x:y", "url = http://h:1/");
    expect(values(text, "DEFAULT", "b")).toEqual(["x=y"]);
    expect(values(text, "DEFAULT", "c")).toEqual(["x:y"]);
    expect(values(text, "DEFAULT", "url")).toEqual(["http://h:1/"]);
  });

  it("removes one pair of matching quotes, even a lone quote character", () => {
    const text = lines("[s]", 'a = " x "', "b = 'y'", "c = \"'z'\"", "d = \"x'", 'e = "', 'f = ""');
    expect(values(text, "s", "a")).toEqual([" x "]);
    expect(values(text, "s", "b")).toEqual(["y"]);
    expect(values(text, "s", "c")).toEqual(["'z'"]);
    expect(values(text, "s", "d")).toEqual(["\"x'"]);
    expect(values(text, "s", "e")).toEqual([""]);
    expect(values(text, "s", "f")).toEqual([""]);
  });

  it("treats only whole lines starting with # or ; as comments", () => {
    const text = lines("[s]", "# a = 1", "; a = 2", "a = x # not a comment ; nor this");
    expect(values(text, "s", "a")).toEqual(["x # not a comment ; nor this"]);
  });

  it("joins continuation lines with newlines, stripped; a blank line ends the value", () => {
    const text = lines("[s]", "a = first", "   second  ", "\tthird", "", "b = 2");
    expect(values(text, "s", "a")).toEqual(["first\nsecond\nthird"]);
    expect(values(text, "s", "b")).toEqual(["2"]);
  });

  it("keeps every occurrence; lookups normalize sections except DEFAULT", () => {
    const text = lines(
      "[Database]",
      "x = 1",
      "[database]",
      "x = 2",
      "[default]",
      "y = 3",
      "[DEFAULT]",
      "y = 4",
    );
    expect(values(text, "database", "x")).toEqual(["1", "2"]);
    expect(values(text, "DATABASE", "x")).toEqual(["1", "2"]);
    expect(values(text, "DEFAULT", "y")).toEqual(["4"]);
    expect(values(text, "default", "y")).toEqual(["3"]);
    const doc = parseOsloIni(text, "t.conf");
    expect(iniValues(doc, "Database", "x", { normalize: false }).map((a) => a.value)).toEqual([
      "1",
    ]);
  });

  it("reads \\r\\n and \\r line ends as Python's universal newlines do", () => {
    expect(values("[s]\r\na = 1\r\n b\rc = 2\r", "s", "a")).toEqual(["1\nb"]);
    expect(values("[s]\r\na = 1\r\n b\rc = 2\r", "s", "c")).toEqual(["2"]);
  });

  it("strips Unicode whitespace as Python does", () => {
    expect(values("[s]\na =\u00a0x\u3000\n", "s", "a")).toEqual(["x"]);
  });

  it("reports oslo's errors with file and line, never the line's text", () => {
    expect(syntaxError("a = secret-value\n")).toBe(
      "t.conf:1: Section must be started before assignment",
    );
    expect(syntaxError("[s]\nsecret-value\n")).toBe("t.conf:2: No ':' or '=' found in assignment");
    expect(syntaxError("[s]\n= secret-value\n")).toBe("t.conf:2: Key cannot be empty");
    expect(syntaxError(" secret-value\n")).toBe("t.conf:1: Unexpected continuation line");
    expect(syntaxError("[s\n")).toBe("t.conf:1: Invalid section (must end with ])");
    expect(syntaxError("[]\n")).toBe("t.conf:1: Empty section name");
  });

  it("differs from the ini package, which is why it is not used to read", () => {
    const text = lines("[s]", "a = x ; y", "b: 1", "c = first", "  second", 'd = "q"');
    const theirs = ini.parse(text) as { s: Record<string, unknown> };
    expect(values(text, "s", "a")).toEqual(["x ; y"]);
    expect(theirs.s["a"]).toBe("x");
    expect(values(text, "s", "b")).toEqual(["1"]);
    expect(theirs.s["b"]).toBeUndefined();
    expect(values(text, "s", "c")).toEqual(["first\nsecond"]);
    expect(theirs.s["c"]).toBe("first");
  });
});

describe("scanOsloIni", () => {
  const problems = (text: string) =>
    scanOsloIni(text, "t.conf").problems.map((p) => `${p.line} ${p.kind}: ${p.reason}`);

  it("reports every problem with its line and keeps going", () => {
    const text = lines(
      "a = before-section", // 1
      " stray", // 2: goes with line 1
      "[s]", // 3
      "b = 1", // 4
      "no-separator", // 5
      "= no-key", // 6
      "", // 7
      "  stray", // 8
      "[t", // 9
      "[]", // 10
      "c = 2", // 11
    );
    expect(problems(text)).toEqual([
      "1 no-section: Section must be started before assignment",
      "5 separator: No ':' or '=' found in assignment",
      "6 empty-key: Key cannot be empty",
      "8 continuation: Unexpected continuation line",
      "9 section: Invalid section (must end with ])",
      "10 section: Empty section name",
    ]);
    const scan = scanOsloIni(text, "t.conf");
    expect(scan.file).toBe("t.conf");
    expect(scan.assignments).toEqual([{ section: "s", key: "b", value: "1", line: 4 }]);
    expect(scan.sections).toEqual([{ name: "s", line: 3 }]);
  });

  it("gives a problem line's continuation lines to it, without problems of their own", () => {
    const text = lines("[s]", "no-separator", "  more", "= x", "\tmore", "a = 1", "  two");
    expect(problems(text)).toEqual([
      "2 separator: No ':' or '=' found in assignment",
      "4 empty-key: Key cannot be empty",
    ]);
    expect(scanOsloIni(text, "t.conf").assignments.map((a) => [a.key, a.value])).toEqual([
      ["a", "1\ntwo"],
    ]);
  });

  it("drops the assignments under a malformed header until the next good one", () => {
    const scan = scanOsloIni(lines("[s]", "a = 1", "[t", "b = 2", "[u]", "c = 3", "[v]"), "t.conf");
    expect(scan.problems.map((p) => p.line)).toEqual([3]);
    expect(scan.assignments.map((a) => `${a.section}.${a.key}`)).toEqual(["s.a", "u.c"]);
    expect(scan.sections.map((s) => `${s.line}:${s.name}`)).toEqual(["1:s", "5:u", "7:v"]);
  });

  it("finds nothing wrong in a good file, and reads it as parseOsloIni does", () => {
    const text = lines("# c", "[s]", "a = 1", "  two", "", "[DEFAULT]", "b: 'x'");
    const scan = scanOsloIni(text, "t.conf");
    expect(scan.problems).toEqual([]);
    expect(scan.assignments).toEqual(parseOsloIni(text, "t.conf").assignments);
  });

  it("is what parseOsloIni throws the first problem of, with the same message", () => {
    const text = lines("[s]", "bad", "[t", " stray");
    expect(problems(text)).toHaveLength(3);
    expect(syntaxError(text)).toBe("t.conf:2: No ':' or '=' found in assignment");
    // An assignment before any section is reported on its own line, as before, even though
    // oslo only finds out once the assignment (and its continuation lines) ends.
    expect(syntaxError(lines("a = 1", "  two", "["))).toBe(
      "t.conf:1: Section must be started before assignment",
    );
  });
});

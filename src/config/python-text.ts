/**
 * The few Python string behaviours oslo.config's parsers rely on, so the TypeScript ports
 * agree with it character for character: `str.strip()` and friends (Unicode whitespace, not
 * JavaScript's `trim()` set), universal-newline line splitting, `int()` and `float()`.
 */
import { ERRORS, StrongroomError } from "../lib/errors.js";

/** Characters for which Python's `str.isspace()` is true. */
const WS =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

const LEADING = new RegExp(`^[${WS}]+`);
const TRAILING = new RegExp(`[${WS}]+$`);
const ONLY_SPACE = new RegExp(`^[${WS}]*$`);

export const pyLstrip = (s: string): string => s.replace(LEADING, "");
export const pyRstrip = (s: string): string => s.replace(TRAILING, "");
export const pyStrip = (s: string): string => pyRstrip(pyLstrip(s));
export const pyIsBlank = (s: string): boolean => ONLY_SPACE.test(s);

/** Lines as Python reads a text file (universal newlines: `\n`, `\r\n` and `\r`), without
 * their terminators; no empty last line for a file ending in a newline. */
export function pyTextLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Python's `len()`: code points, not UTF-16 units. */
export const pyLen = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

const DECIMAL_DIGIT = /\p{Nd}/u;

/** Python accepts every Unicode decimal digit (category Nd) in `int()` and `float()`. Those
 * digits come in contiguous runs of 0..9, so a digit's value is its offset in its run. */
function asciiDigit(char: string): string {
  const cp = char.codePointAt(0)!;
  if (cp >= 0x30 && cp <= 0x39) return char;
  let start = cp;
  while (start > 0 && DECIMAL_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return String((cp - start) % 10);
}

/** What CPython does before parsing numbers: Unicode digits to ASCII, Unicode spaces to ' '. */
function toAsciiNumber(s: string): string {
  let out = "";
  for (const char of s) {
    if (DECIMAL_DIGIT.test(char)) out += asciiDigit(char);
    else if (pyIsBlank(char)) out += " ";
    else out += char;
  }
  return out;
}

const DIGITS = "[0-9](?:_?[0-9])*";
const INT_LITERAL = new RegExp(`^[+-]?${DIGITS}$`);
const FLOAT_LITERAL = new RegExp(
  `^[+-]?(?:(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?|inf|infinity|nan)$`,
  "i",
);
/** CPython refuses to convert longer decimal strings (sys.int_info.default_max_str_digits). */
const MAX_INT_DIGITS = 4300;

/** Python's ValueError: STRONGROOM_ERR_OPTION_TYPE; the reason never quotes the value. */
export class PythonValueError extends StrongroomError {
  constructor(reason: string) {
    super(ERRORS.STRONGROOM_ERR_OPTION_TYPE.code, reason);
  }
}

/**
 * Python's `int(s)` for a string, base 10. Integers beyond JavaScript's safe range come back
 * as their canonical decimal string: a number would silently lose digits.
 */
export function pyInt(s: string): number | string {
  const text = pyStrip(toAsciiNumber(s));
  if (!INT_LITERAL.test(text)) throw new PythonValueError("not a decimal integer");
  const digits = text.replaceAll("_", "");
  if (digits.replace(/^[+-]/, "").length > MAX_INT_DIGITS) {
    throw new PythonValueError(`more than ${MAX_INT_DIGITS} digits`);
  }
  const big = BigInt(digits);
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big.toString();
}

/** Python's `float(s)` for a string. */
export function pyFloat(s: string): number {
  const text = pyStrip(toAsciiNumber(s));
  if (!FLOAT_LITERAL.test(text)) throw new PythonValueError("not a floating point number");
  const unsigned = text.replace(/^[+-]/, "").toLowerCase();
  const negative = text.startsWith("-");
  if (unsigned === "nan") return Number.NaN;
  if (unsigned === "inf" || unsigned === "infinity") {
    return negative ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  return Number(text.replaceAll("_", ""));
}

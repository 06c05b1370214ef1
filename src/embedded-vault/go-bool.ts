/** Go's strconv.ParseBool, which Vault uses for query flags, fields and config values. */
const TRUE_TEXTS: ReadonlySet<string> = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE_TEXTS: ReadonlySet<string> = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** true / false, or undefined when Go would answer "invalid syntax". */
export function parseGoBool(text: string): boolean | undefined {
  if (TRUE_TEXTS.has(text)) return true;
  if (FALSE_TEXTS.has(text)) return false;
  return undefined;
}

import { ERRORS } from "../../src/lib/errors.js";

/** A rotation target refused or failed a step. One line, never a secret value. */
export const targetError = (message: string) => ERRORS.STRONGROOM_ERR_TARGET(message);

/** `text` with every occurrence of the given values replaced, for messages built from output. */
export function redact(text: string, values: readonly string[]): string {
  let result = text;
  for (const value of values) {
    if (value !== "") result = result.split(value).join("[redacted]");
  }
  return result;
}

import { createRequire } from "node:module";

interface HclParser {
  /** HCL v1 (or JSON) in, indented JSON out; errors come back as a string starting "unable to". */
  parse(text: string): string;
}

let parser: HclParser | undefined;

/**
 * HCL v1 to JSON with HashiCorp's own parser (js-hcl-parser is its GopherJS build). Loading
 * that build sets `Error.stackTraceLimit = Infinity` (every error thrown afterwards would
 * capture its whole stack) and a global `require`, so it is loaded only when HCL is first
 * parsed, and both globals are put back right after.
 */
export function hclToJson(text: string): string {
  parser ??= loadContained();
  return parser.parse(text);
}

function loadContained(): HclParser {
  const globalRequire = Object.getOwnPropertyDescriptor(globalThis, "require");
  const stackTraceLimit = Object.getOwnPropertyDescriptor(Error, "stackTraceLimit");
  try {
    return createRequire(import.meta.url)("js-hcl-parser") as HclParser;
  } finally {
    restore(globalThis, "require", globalRequire);
    restore(Error, "stackTraceLimit", stackTraceLimit);
  }
}

function restore(target: object, name: string, descriptor: PropertyDescriptor | undefined): void {
  if (descriptor) Object.defineProperty(target, name, descriptor);
  else Reflect.deleteProperty(target, name);
}

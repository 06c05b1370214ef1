/**
 * Option value templates: literal text with `{{ secret.Name }}` / `{{ var.name }}` /
 * `{{ user.Name }}` references, each optionally piped through filters
 * (`{{ secret.X | urlencode }}`). `user.Name` is the account name the secret currently belongs
 * to: with alternating RabbitMQ users it changes with each rotation, together with the password.
 * There is no escape for a literal `{{`; no OpenStack option needs one.
 */
import { ERRORS, StrongroomError } from "../lib/errors.js";

export type Scope = "secret" | "var" | "user";

const FILTERS = {
  /** RFC 3986: everything but the unreserved characters, like Python's `quote(s, safe="")`,
   * which is what oslo.db's SQLAlchemy URLs and oslo.messaging's transport URLs unquote. */
  urlencode: (s: string) =>
    encodeURIComponent(s).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    ),
  base64: (s: string) => Buffer.from(s, "utf8").toString("base64"),
  json: (s: string) => JSON.stringify(s),
} satisfies Record<string, (s: string) => string>;

export type Filter = keyof typeof FILTERS;
export const FILTER_NAMES = Object.keys(FILTERS) as Filter[];

export interface Reference {
  scope: Scope;
  name: string;
  filters: readonly Filter[];
}

export type TemplatePart = string | Reference;

export interface Template {
  source: string;
  parts: readonly TemplatePart[];
}

/** STRONGROOM_ERR_CONFIG; the manifest reads `offset` to point at the character. */
export class TemplateSyntaxError extends StrongroomError {
  constructor(
    reason: string,
    readonly offset: number,
  ) {
    super(ERRORS.STRONGROOM_ERR_CONFIG.code, reason);
    this.name = "TemplateSyntaxError";
  }
}

const REFERENCE = /^(secret|var|user)\.([A-Za-z_][A-Za-z0-9_-]*)$/;

export function parseTemplate(source: string): Template {
  const parts: TemplatePart[] = [];
  let pos = 0;
  while (pos < source.length) {
    const open = source.indexOf("{{", pos);
    if (open < 0) break;
    if (open > pos) parts.push(source.slice(pos, open));
    const close = source.indexOf("}}", open + 2);
    if (close < 0) throw new TemplateSyntaxError("unclosed '{{'", open);
    parts.push(parseReference(source.slice(open + 2, close), open));
    pos = close + 2;
  }
  if (pos < source.length) parts.push(source.slice(pos));
  return { source, parts };
}

function parseReference(body: string, offset: number): Reference {
  const [head = "", ...pipes] = body.split("|").map((s) => s.trim());
  if (head === "") throw new TemplateSyntaxError("empty '{{ }}'", offset);
  const match = REFERENCE.exec(head);
  if (!match) {
    throw new TemplateSyntaxError(
      `bad reference '${head}': expected secret.NAME, user.NAME or var.NAME`,
      offset,
    );
  }
  const filters = pipes.map((f) => {
    if (!(FILTER_NAMES as string[]).includes(f)) {
      throw new TemplateSyntaxError(
        `unknown filter '${f}' (known: ${FILTER_NAMES.join(", ")})`,
        offset,
      );
    }
    return f as Filter;
  });
  return { scope: match[1] as Scope, name: match[2]!, filters };
}

/** The names a template references in `scope`; for "secret", `user.Name` counts too (the
 * account name follows the secret's version, so the option depends on the secret). */
export function referencesIn(template: Template, scope: Scope): string[] {
  const names = new Set<string>();
  for (const part of template.parts) {
    if (typeof part === "string") continue;
    if (part.scope === scope || (scope === "secret" && part.scope === "user")) names.add(part.name);
  }
  return [...names];
}

export interface TemplateResolver {
  secret: (name: string) => string;
  var: (name: string) => string;
  /** Absent: `user.Name` renders empty. */
  user?: (name: string) => string;
}

export interface RenderOptions {
  /** Applied to each substituted value after its filters, never to the literal text: the
   * literal text may use oslo.config's own `$option` substitution on purpose. */
  escape?: (value: string) => string;
}

export function renderValue(
  template: Template | string,
  resolve: TemplateResolver,
  options: RenderOptions = {},
): string {
  const parsed = typeof template === "string" ? parseTemplate(template) : template;
  let out = "";
  for (const part of parsed.parts) {
    if (typeof part === "string") {
      out += part;
      continue;
    }
    let value =
      part.scope === "user" ? (resolve.user?.(part.name) ?? "") : resolve[part.scope](part.name);
    for (const filter of part.filters) value = FILTERS[filter](value);
    out += options.escape ? options.escape(value) : value;
  }
  return out;
}

/**
 * oslo.config substitutes `$name` in values from every source; `$$` yields a literal `$`. It
 * first rewrites `\$` to `$$`, so a `$` right after a backslash is written `\$` instead:
 * `\\$` becomes `\$$` and then `\$` (checked against the real oslo.config by brute force).
 */
export const escapeOsloTemplate = (value: string): string =>
  value.replace(/\$/g, (_, offset: number) => (value[offset - 1] === "\\" ? "\\$" : "$$"));

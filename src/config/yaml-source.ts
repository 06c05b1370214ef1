import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
  type YAMLError,
} from "yaml";

export type PathSegment = string | number;

export interface Problem {
  file: string;
  line: number;
  col: number;
  reason: string;
}

export const formatProblem = (p: Problem): string => `${p.file}:${p.line}:${p.col}: ${p.reason}`;

/** Shows the first few problems: one is usually the cause of the rest. */
export function formatProblems(problems: readonly Problem[], shown = 5): string {
  const lines = problems.slice(0, shown).map(formatProblem);
  if (problems.length > shown) lines.push(`... and ${problems.length - shown} more problem(s)`);
  return lines.join("\n");
}

export function sortProblems(problems: Problem[]): Problem[] {
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}

// yaml's own messages may quote source text (an escape sequence, a token), and the source
// may be a passwords file, so only the error code reaches the user.
const SYNTAX_REASONS: Record<string, string> = {
  BAD_DQ_ESCAPE: "invalid escape sequence in a double-quoted string",
  BAD_INDENT: "bad indentation",
  BLOCK_AS_IMPLICIT_KEY: "a block value cannot be a map key",
  DUPLICATE_KEY: "duplicate key",
  KEY_OVER_1024_CHARS: "implicit map key longer than 1024 characters",
  MISSING_CHAR: "missing closing quote or bracket",
  MULTILINE_IMPLICIT_KEY: "map keys must be on a single line",
  MULTIPLE_DOCS: "only one YAML document is allowed",
  TAB_AS_INDENT: "tabs cannot be used for indentation",
  TAG_RESOLVE_FAILED: "unknown or invalid tag",
  UNEXPECTED_TOKEN: "unexpected token",
  BAD_ALIAS: "bad alias",
  NON_STRING_KEY: "map keys must be strings",
};

/** A parsed YAML (or JSON) text that can point at the source of any value path. */
export class YamlSource {
  readonly doc: Document;
  private readonly lines = new LineCounter();

  constructor(
    readonly text: string,
    readonly file: string,
  ) {
    this.doc = parseDocument(text, {
      lineCounter: this.lines,
      prettyErrors: false,
      // yaml's own duplicate-key check compares every pair with every other one, which takes
      // seconds on a 10,000-secret input; syntaxProblems() does it with a Set instead.
      uniqueKeys: false,
    });
  }

  syntaxProblems(): Problem[] {
    const all: YAMLError[] = [...this.doc.errors, ...this.doc.warnings];
    const problems = all.map((e) =>
      this.problemAtOffset(e.pos[0], SYNTAX_REASONS[e.code] ?? `YAML syntax error (${e.code})`),
    );
    // An unquoted `{{ template }}` parses as a map used as a key; say so before toJS()
    // stringifies it into a confusing key name.
    visit(this.doc, {
      Map: (_, map) => {
        const seen = new Set<unknown>();
        for (const pair of map.items) {
          if (!isScalar(pair.key)) continue;
          if (seen.has(pair.key.value))
            problems.push(this.problemAtNode(pair.key, SYNTAX_REASONS.DUPLICATE_KEY!));
          seen.add(pair.key.value);
        }
      },
      Pair: (_, pair) => {
        if (isMap(pair.key) || isSeq(pair.key)) {
          problems.push(
            this.problemAtNode(
              pair.key,
              "a map key must be a plain value (quote values that start with '{{')",
            ),
          );
        }
      },
    });
    return problems;
  }

  problemAtOffset(offset: number, reason: string): Problem {
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col, reason };
  }

  problemAtNode(node: Node | null | undefined, reason: string): Problem {
    return this.problemAtOffset(node?.range?.[0] ?? 0, reason);
  }

  /** Where `path` is written; the nearest existing ancestor when the path is not in the text
   * (a default, or a shorthand that was expanded before validation). `key` points at the
   * map key rather than its value, which reads better for "unknown key" and "bad name". */
  problemAt(path: readonly PathSegment[], reason: string, key = false): Problem {
    return this.problemAtNode(this.nodeAt(path, key), reason);
  }

  nodeAt(path: readonly PathSegment[], key = false): Node | null {
    let node: unknown = this.doc.contents;
    let found: Node | null = (this.doc.contents as Node | null) ?? null;
    for (const [i, segment] of path.entries()) {
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
        );
        if (!pair) return found;
        const keyNode = pair.key as Node;
        const valueNode = pair.value as Node | null;
        // `name:` with nothing after it has a value node without a useful position.
        const valueUsable = valueNode && !(isScalar(valueNode) && valueNode.value === null);
        if (last && (key || !valueUsable)) return keyNode;
        node = valueNode;
        found = valueUsable ? valueNode : keyNode;
      } else if (isSeq(node)) {
        const item = node.items[Number(segment)] as Node | undefined;
        if (!item) return found;
        node = item;
        found = item;
      } else {
        return found;
      }
    }
    return found;
  }
}

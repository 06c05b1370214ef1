import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CATALOGUE, type ErrorSpec } from "../../../src/lib/errors.js";
import { REPO_ROOT } from "../../helpers/repo-root.js";

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (name.endsWith(".ts")) yield path;
  }
}

const catalogue = Object.entries(ERROR_CATALOGUE) as [string, ErrorSpec][];
const doc = readFileSync(join(REPO_ROOT, "docs", "errors.md"), "utf8");

/** The table rows of docs/errors.md: `| \`CODE\` | status | exit | meaning |`. */
const documented = new Map(
  [...doc.matchAll(/^\|\s*`(STRONGROOM_ERR_[A-Z0-9_]+)`\s*\|(.*)\|\s*$/gm)].map((match) => {
    const [status, exit, meaning] = match[2]!.split("|").map((cell) => cell.trim());
    return [match[1]!, { status: Number(status), exit: Number(exit), meaning }] as const;
  }),
);

describe("docs/errors.md and the catalogue (src/lib/errors.ts)", () => {
  it("document the same codes", () => {
    expect(catalogue.length).toBeGreaterThan(40);
    const codes = catalogue.map(([code]) => code).sort();
    expect([...documented.keys()].sort()).toEqual(codes);
    // Each code once.
    expect(doc.match(/^\|\s*`STRONGROOM_ERR_/gm)).toHaveLength(codes.length);
  });

  it.each(catalogue)("%s: the same status, exit code and meaning", (code, spec) => {
    expect(documented.get(code)).toEqual({
      status: spec.status,
      exit: spec.exit,
      meaning: spec.meaning,
    });
  });

  it("name the 5xx codes whose message is shown, and only those", () => {
    const statusNote = /^- \*\*status\*\*:[\s\S]*?(?=^- \*\*)/m.exec(doc)?.[0] ?? "";
    const named = [...statusNote.matchAll(/`(STRONGROOM_ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]);
    const shown = catalogue.filter(([, spec]) => spec.public5xx);
    expect(shown.every(([, spec]) => spec.status >= 500)).toBe(true);
    expect(named.sort()).toEqual(shown.map(([code]) => code).sort());
  });
});

it("no code is spelled as a string in src/ or drivers/ outside the catalogue", () => {
  const catalogueFile = join(REPO_ROOT, "src", "lib", "errors.ts");
  const embeddedVault = join(REPO_ROOT, "src", "embedded-vault");
  const spelled: string[] = [];
  for (const dir of ["src", "drivers"]) {
    for (const file of sourceFiles(join(REPO_ROOT, dir))) {
      if (file === catalogueFile || file.startsWith(`${embeddedVault}/`)) continue;
      // A string literal that is a code, or builds one: "STRONGROOM_ERR_X", `STRONGROOM_ERR_${x}`.
      for (const match of readFileSync(file, "utf8").matchAll(
        /["'`]STRONGROOM_ERR_[A-Z0-9_]*(?:["'`]|\$\{)/g,
      )) {
        spelled.push(`${relative(REPO_ROOT, file)}: ${match[0]}`);
      }
    }
  }
  expect(spelled).toEqual([]);
});

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { REPO_ROOT } from "../../helpers/repo-root.js";

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (name.endsWith(".ts")) yield path;
  }
}

it("every STRONGROOM_ERR_* code the code raises is documented in docs/errors.md", () => {
  const raised = new Set<string>();
  for (const dir of ["src", "drivers"]) {
    for (const file of sourceFiles(join(REPO_ROOT, dir))) {
      for (const code of readFileSync(file, "utf8").match(/STRONGROOM_ERR_[A-Z_]+/g) ?? []) {
        raised.add(code);
      }
    }
  }
  const documented = readFileSync(join(REPO_ROOT, "docs", "errors.md"), "utf8");
  const missing = [...raised].filter((code) => !documented.includes(`\`${code}\``)).sort();
  expect(raised.size).toBeGreaterThan(40);
  expect(missing).toEqual([]);
});

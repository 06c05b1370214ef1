/**
 * The import rules of .dependency-cruiser.cjs hold for the code, and they do bite: a tree
 * shaped like ours with a wrong-way import or a cycle is reported.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { cruise, type ICruiseResult, type IForbiddenRuleType } from "dependency-cruiser";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/repo-root.js";
import { useTempDirs } from "../helpers/temp-dirs.js";

const tempDir = useTempDirs("strongroom-arch-");

const config = createRequire(import.meta.url)(join(REPO_ROOT, ".dependency-cruiser.cjs")) as {
  forbidden: IForbiddenRuleType[];
};

async function violations(baseDir: string, paths: string[]) {
  const { output } = await cruise(paths, {
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden },
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
    exclude: { path: "\\.d\\.ts$" },
  });
  const result = output as ICruiseResult;
  const relative = result.modules.flatMap((m) =>
    m.dependencies.filter((d) => d.module.startsWith(".")),
  );
  // An import the cruiser cannot resolve would escape every rule.
  expect(relative.filter((d) => d.couldNotResolve).map((d) => d.module)).toEqual([]);
  expect(relative.length).toBeGreaterThan(0);
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
}

describe("import rules", () => {
  it("hold for src/ and drivers/", async () => {
    expect(await violations(REPO_ROOT, ["src", "drivers"])).toEqual([]);
  }, 60_000);

  it("report a lower layer importing a higher one, the core reaching into a driver, and a cycle", async () => {
    const root = tempDir();
    const files: Record<string, string> = {
      "src/config/model.ts": 'import { x } from "../broker/service";\nexport const m = x;\n',
      "src/broker/service.ts": "export const x = 1;\n",
      "src/rotation/engine.ts":
        'import { y } from "../../drivers/targets/db/db";\nexport const e = y;\n',
      "drivers/targets/db/db.ts": "export const y = 2;\n",
      "src/lib/a.ts": 'import { b } from "./b";\nexport const a = b;\n',
      "src/lib/b.ts": 'import { a } from "./a";\nexport const b = () => a;\n',
    };
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), text);
    }
    const found = await violations(root, ["src", "drivers"]);
    expect(found).toContain(
      "config-imports-only-lib: src/config/model.ts -> src/broker/service.ts",
    );
    expect(found).toContain(
      "core-uses-drivers-through-ports: src/rotation/engine.ts -> drivers/targets/db/db.ts",
    );
    expect(found.some((v) => v.startsWith("no-circular: src/lib/"))).toBe(true);
  }, 60_000);
});

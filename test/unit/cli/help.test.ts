import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../helpers/cli-commands.js";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BIN = join(REPO_ROOT, "bin", "strongroom.js");

// No TTY: commander wraps help to 80 columns.
const help = (...args: string[]) => {
  const result = spawnSync(process.execPath, [BIN, ...args, "--help"], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, COLUMNS: "80" },
  });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
};

describe("--help", () => {
  it("lists every command with a one-line summary", () => {
    const text = help();
    const listed = text.slice(text.indexOf("Commands:"));
    // Every command listed is one this suite knows (and checks below), in the same order.
    const names = [...listed.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]);
    expect(names).toEqual([...COMMANDS, "help"]);
    for (const name of COMMANDS) {
      const line = listed.split("\n").find((l) => l.trimStart().startsWith(`${name} `));
      expect(line, name).toBeDefined();
      // The summary ends on the command's own line: the next line is the next command.
      const next = listed.split("\n")[listed.split("\n").indexOf(line as string) + 1] ?? "";
      expect(next.trimStart() === "" || /^\s{2}[a-z-]+ /.test(next), `${name}: ${next}`).toBe(true);
    }
  });

  it.each(COMMANDS)(
    "%s: its description is wrapped as prose, not as the source's lines",
    (name) => {
      const text = help(name);
      const description = text.split("\n\n")[1] ?? "";
      expect(description.length).toBeGreaterThan(20);
      for (const line of description.split("\n")) {
        expect(line.length, line).toBeLessThanOrEqual(80);
      }
      // A hand-broken source line next to commander's own wrapping leaves one- or two-word lines.
      const lines = description.split("\n");
      for (const line of lines.slice(0, -1)) expect(line.length, line).toBeGreaterThan(40);
    },
  );
});

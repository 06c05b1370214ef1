import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("read-only-state-");
const STATE_DIR_MODULE = fileURLToPath(new URL("../../../src/state/state-dir.ts", import.meta.url));
/** root may write anywhere: the check runs as nobody then. */
const NOBODY = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

describe("a state dir strongroom cannot write", () => {
  it("fails at start with one line naming the state dir as read-only", () => {
    const parent = tempDir();
    chmodSync(parent, 0o755);
    const state = join(parent, "state");
    mkdirSync(state);
    if (NOBODY.uid !== undefined) chownSync(state, NOBODY.uid, NOBODY.gid);
    // Private, as strongroom wants it, but not writable even by its owner.
    chmodSync(state, 0o500);
    const script =
      `import(${JSON.stringify(STATE_DIR_MODULE)}).then((m) => {` +
      `try { m.StateDir.create(${JSON.stringify(state)}); console.log("created"); }` +
      ` catch (e) { console.log(e.code + " " + e.message); } })`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
      encoding: "utf8",
      cwd: fileURLToPath(new URL("../../..", import.meta.url)),
      ...NOBODY,
    });
    expect(child.stderr).toBe("");
    expect(child.stdout.trim()).toBe(
      `STRONGROOM_ERR_STATE the state dir ${state} is read-only (EACCES): strongroom writes its ` +
        "state there; make it writable for this user or choose another with --state-dir",
    );
  });
});

import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { driver } from "../../../drivers/rotation-targets/command/index.js";
import type { RotationTarget } from "../../../drivers/types.js";
import type { SecretTarget } from "../../../src/config/manifest-types.js";
import { waitFor } from "../../helpers/ports.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("strongroom-command-target-");

/** A hook script in `dir`: records its argv and environment, then runs `body`. */
function hook(dir: string, name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    [
      "#!/bin/sh",
      `printf '%s\\n' "$0 $*" >> "${dir}/argv.log"`,
      `env >> "${dir}/env.log"`,
      body,
      "",
    ].join("\n"),
  );
  chmodSync(file, 0o755);
  return file;
}

/** apply stores its stdin line in `state`; verify compares its stdin line with it. */
function credentialHooks(dir: string) {
  const state = join(dir, "state");
  return {
    state,
    apply: [hook(dir, "apply", `IFS= read -r value; printf '%s' "$value" > "$1"`), state],
    verify: [
      hook(dir, "verify", `IFS= read -r value; [ "$value" = "$(cat "$1" 2>/dev/null)" ]`),
      state,
    ],
  };
}

const create = (spec: Omit<Extract<SecretTarget, { kind: "command" }>, "kind">) =>
  driver.create({ kind: "command", ...spec }, { adminPasswords: async () => [] });

const values = (current: string, next: string) => ({ current, next, currentVersion: 4 });

describe("the command rotation target (operator hooks)", () => {
  it("applies through the hook, verifies through the other, rolls back with the current value", async () => {
    const dir = tempDir();
    const { state, apply, verify } = credentialHooks(dir);
    const target: RotationTarget = await create({ apply, verify });
    expect(target.describe()).toEqual({
      kind: "command",
      accounts: [`hook ${apply.join(" ")}`],
      overlap: "none",
    });
    const v = values("old value", "new $value 'quoted'");
    await target.apply(v);
    expect(readFileSync(state, "utf8")).toBe(v.next);
    expect(await target.accepts(v.next)).toBe(true);
    expect(await target.accepts(v.current)).toBe(false);
    await target.apply(v);
    await target.retire(v);
    expect(await target.accepts(v.next)).toBe(true);

    await target.rollback(v);
    expect(readFileSync(state, "utf8")).toBe(v.current);
    expect(await target.accepts(v.current)).toBe(true);

    // The value went through stdin only: not in any hook's argv or environment.
    const seen =
      readFileSync(join(dir, "argv.log"), "utf8") + readFileSync(join(dir, "env.log"), "utf8");
    expect(seen).toContain("apply");
    expect(seen).not.toContain("new $value");
    expect(seen).not.toContain("old value");
  });

  it("without a verify hook, accepts only the value this process applied", async () => {
    const dir = tempDir();
    const { apply } = credentialHooks(dir);
    const target = await create({ apply });
    const v = values("v1", "v2");
    expect(await target.accepts(v.next)).toBe(false);
    await target.apply(v);
    expect(await target.accepts(v.next)).toBe(true);
    expect(await target.accepts(v.current)).toBe(false);
    await target.rollback(v);
    expect(await target.accepts(v.current)).toBe(true);
    expect(await target.accepts(v.next)).toBe(false);
    // Another process (a resumed rotation) knows nothing and says so.
    expect(await (await create({ apply })).accepts(v.current)).toBe(false);
  });

  it("reports a failing hook in one line with its exit code, values blanked", async () => {
    const dir = tempDir();
    const failing = hook(
      dir,
      "fail",
      `IFS= read -r value; echo "debug: got $value" >&2; echo "keystone said no" >&2; echo "last: $value" >&2; exit 3`,
    );
    const target = await create({ apply: [failing], verify: [failing] });
    const error = await target.apply(values("s3cret-old", "s3cret-new")).catch((e: Error) => e);
    expect(error).toMatchObject({ code: "STRONGROOM_ERR_TARGET" });
    expect((error as Error).message).toBe(
      `apply hook ${failing} failed (exit 3): last: [redacted]`,
    );
    expect(await target.accepts("s3cret-new")).toBe(false);
    const missing = await create({ apply: [join(dir, "nope")] });
    await expect(missing.apply(values("a", "b"))).rejects.toThrow(
      /apply hook .*nope cannot be started \(ENOENT\)/,
    );
  });

  it("stops a hook at its deadline, with whatever it started", async () => {
    const dir = tempDir();
    const pidFile = join(dir, "child.pid");
    const slow = hook(dir, "slow", `sleep 30 & echo $! > "${pidFile}"; wait`);
    const target = await create({ apply: [slow], verify: [slow], timeoutSeconds: 0.5 });
    const started = Date.now();
    await expect(target.apply(values("a", "b"))).rejects.toThrow(
      /apply hook .*slow timed out after 0\.5 s/,
    );
    await expect(target.accepts("b")).rejects.toThrow(/verify hook .*slow timed out/);
    expect(Date.now() - started).toBeLessThan(10_000);
    const pid = Number(readFileSync(pidFile, "utf8"));
    await waitFor(
      async () =>
        !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z "),
      {
        what: "the hook's child to be gone",
        timeoutMs: 5_000,
      },
    );
  });

  it("does not mind a hook that ignores its stdin", async () => {
    const target = await create({ apply: ["/bin/true"], verify: ["/bin/true"] });
    await target.apply(values("a", "b".repeat(100_000)));
    expect(await target.accepts("c")).toBe(true);
  });
});

/** `strongroom keygen` through the built CLI (needs `npm run build`). */
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fingerprint, readPublicKeyFile, readSecretKeyFile } from "../../../src/bundle/keys.js";
import { REPO_ROOT } from "../../helpers/repo-root.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("strongroom-keygen-");

function strongroom(...args: string[]) {
  const run = spawnSync(process.execPath, [join(REPO_ROOT, "bin", "strongroom.js"), ...args], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function expectOneLineFailure(run: ReturnType<typeof strongroom>, status: number, text: RegExp) {
  expect(run.status).toBe(status);
  expect(run.stdout).toBe("");
  expect(run.stderr).toMatch(/^STRONGROOM_ERR_[A-Z_]+: [^\n]+\n$/);
  expect(run.stderr).toMatch(text);
}

describe("strongroom keygen", () => {
  it("writes NAME.key (0600) and NAME.pub (0644) and prints the fingerprint", () => {
    const base = join(tempDir(), "controller-0");
    const run = strongroom("keygen", "--out", base);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe("");
    expect(statSync(`${base}.key`).mode & 0o777).toBe(0o600);
    expect(statSync(`${base}.pub`).mode & 0o777).toBe(0o644);
    const id = fingerprint(readPublicKeyFile(`${base}.pub`));
    expect(fingerprint(readSecretKeyFile(`${base}.key`))).toBe(id);
    expect(run.stdout).toBe(
      `wrote ${base}.key (secret, mode 0600) and ${base}.pub\nfingerprint ${id}\n`,
    );
  });

  it("gives JSON with --json, and reads a name given with its extension as the pair", () => {
    const base = join(tempDir(), "edge-1");
    const run = strongroom("keygen", "--out", `${base}.pub`, "--json");
    expect(run.status).toBe(0);
    const answer = JSON.parse(run.stdout);
    expect(answer).toEqual({
      publicFile: `${base}.pub`,
      secretFile: `${base}.key`,
      fingerprint: fingerprint(readPublicKeyFile(`${base}.pub`)),
    });
    const shown = strongroom("keygen", "--fingerprint", `${base}.pub`);
    expect(shown.stdout).toBe(`${answer.fingerprint}\n`);
  });

  it("refuses to overwrite without --force, and replaces with it", () => {
    const base = join(tempDir(), "node");
    expect(strongroom("keygen", "--out", base).status).toBe(0);
    const before = readFileSync(`${base}.key`, "utf8");
    expectOneLineFailure(strongroom("keygen", "--out", base), 1, /already exists \(pass --force/);
    expect(readFileSync(`${base}.key`, "utf8")).toBe(before);
    expect(strongroom("keygen", "--out", base, "--force").status).toBe(0);
    expect(readFileSync(`${base}.key`, "utf8")).not.toBe(before);
  });

  it("refuses wrong-type and unusable key files with one line, never their contents", () => {
    const dir = tempDir();
    const base = join(dir, "node");
    expect(strongroom("keygen", "--out", base).status).toBe(0);
    const secretText = readFileSync(`${base}.key`, "utf8");
    const wrongType = strongroom("keygen", "--fingerprint", `${base}.key`);
    expectOneLineFailure(
      wrongType,
      1,
      /a secret key file where a public key \(\.pub\) is expected: a reused key of the wrong type/,
    );
    for (const field of secretText.split(/\s+/).filter((f) => f.length > 40)) {
      expect(wrongType.stderr).not.toContain(field);
    }
    const notKey = join(dir, "notes.pub");
    writeFileSync(notKey, "just some text\n");
    expectOneLineFailure(
      strongroom("keygen", "--fingerprint", notKey),
      1,
      /not a strongroom key file/,
    );
    chmodSync(`${base}.key`, 0o644);
    expect(() => readSecretKeyFile(`${base}.key`)).toThrow(/readable by group or others/);
  });

  it("is a usage error (exit 2) without --out", () => {
    expectOneLineFailure(strongroom("keygen"), 2, /--out NAME is required/);
  });
});

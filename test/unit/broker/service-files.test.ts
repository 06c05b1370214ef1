import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderServiceFiles } from "../../../src/broker/service-files.js";
import { writeServiceFiles } from "../../../src/cli/service-files.js";
import { parseManifest } from "../../../src/config/manifest.js";
import { createMemoryKeyManager } from "../../helpers/memory-key-manager.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("service-files-");

const manifest = parseManifest(
  `
deployment: {name: site}
secrets: {KeystoneFernetKeys: {}, KeystoneCredential0: {}, KeystoneCredential1: {}}
services:
  keystone:
    files:
      - {secret: KeystoneFernetKeys, dir: fernet-keys}
      - {secret: KeystoneCredential0, path: credential-keys/0}
      - {secret: KeystoneCredential1, path: credential-keys/1}
`,
  "m.yaml",
);
const keystone = manifest.services.get("keystone")!;

describe("a service's files", () => {
  it("are one file per string secret and one per entry of a TripleO key map", async () => {
    const keyManager = createMemoryKeyManager({
      KeystoneFernetKeys: {
        "/etc/keystone/fernet-keys/1": { content: "key-one" },
        "/etc/keystone/fernet-keys/0": { content: "key-zero" },
      },
      KeystoneCredential0: "cred-zero",
      KeystoneCredential1: "cred-one",
    });
    const files = await renderServiceFiles(keystone, keyManager);
    expect(files.map(({ path, secret, version }) => [path, secret, version])).toEqual([
      ["fernet-keys/0", "KeystoneFernetKeys", 1],
      ["fernet-keys/1", "KeystoneFernetKeys", 1],
      ["credential-keys/0", "KeystoneCredential0", 1],
      ["credential-keys/1", "KeystoneCredential1", 1],
    ]);
    expect(files[0]!.content === "key-zero").toBe(true);
  });

  it("refuse a map entry that is not {content}, naming the secret only", async () => {
    const keyManager = createMemoryKeyManager({
      KeystoneFernetKeys: { "/k/../0": { content: "x" }, "/k/1": "not-a-map" },
      KeystoneCredential0: "a",
      KeystoneCredential1: "b",
    });
    const error = await renderServiceFiles(keystone, keyManager).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/KeystoneFernetKeys has an entry that is not/);
    expect((error as Error).message).not.toContain("not-a-map");
  });

  it("are written 0600 in 0700 directories, and a dropped key disappears", () => {
    const out = join(tempDir(), "files");
    writeServiceFiles(out, [
      { path: "fernet-keys/0", content: "a" },
      { path: "fernet-keys/1", content: "b" },
      { path: "credential-keys/0", content: "c" },
    ]);
    writeFileSync(join(out, "fernet-keys", "1"), "stale");
    const written = writeServiceFiles(out, [
      { path: "fernet-keys/0", content: "a2" },
      { path: "credential-keys/0", content: "c" },
    ]);
    expect(written).toEqual(["credential-keys/0", "fernet-keys/0"]);
    expect(readdirSync(join(out, "fernet-keys"))).toEqual(["0"]);
    expect(readFileSync(join(out, "fernet-keys", "0"), "utf8") === "a2").toBe(true);
    for (const dir of [out, join(out, "fernet-keys"), join(out, "credential-keys")]) {
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    }
    expect(statSync(join(out, "fernet-keys", "0")).mode & 0o777).toBe(0o600);
    expect(() => writeServiceFiles(out, [{ path: "../escape", content: "x" }])).toThrow(/outside/);
  });

  it("are checked in the manifest: known secret, path for strings, dir for maps", () => {
    const problems = (files: string) => {
      try {
        parseManifest(
          `deployment: {name: s}\nsecrets: {KeystoneFernetKeys: {}, Pw: {}}\nservices:\n  k:\n    files: ${files}\n`,
          "m.yaml",
        );
        return "";
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(problems("[{secret: Nope, path: x}]")).toMatch(/unknown secret "Nope"/);
    expect(problems("[{secret: Pw, dir: x}]")).toMatch(/Pw is not a map secret/);
    expect(problems("[{secret: KeystoneFernetKeys, path: x}]")).toMatch(/is a map of files/);
    expect(problems("[{secret: Pw, path: /etc/x}]")).toMatch(/m\.yaml:5/);
    expect(problems("[{secret: Pw, path: a/../b}]")).toMatch(/m\.yaml:5/);
  });

  it("count their secrets as consumed: the service's policy and rotations include them", async () => {
    const { consumersOf, secretsReferencedBy } = await import("../../../src/config/manifest.js");
    expect(secretsReferencedBy(manifest, "keystone")).toEqual([
      "KeystoneCredential0",
      "KeystoneCredential1",
      "KeystoneFernetKeys",
    ]);
    expect(consumersOf(manifest, "KeystoneCredential1")).toEqual(["keystone"]);
  });
});

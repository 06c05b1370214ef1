import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EmbeddedVault } from "../../../src/embedded-vault/embedded-vault.js";
import { loadSodium } from "../../../src/lib/sodium.js";

describe("the embedded Vault's log of an internal error", () => {
  it("names the code of a full disk, never the message", async () => {
    await loadSodium();
    const lines: string[] = [];
    const vault = await EmbeddedVault.open({
      storage: { type: "inmem" },
      log: (line) => lines.push(line),
    });
    let full: unknown;
    try {
      writeFileSync("/dev/full", "x");
    } catch (error) {
      full = error;
    }
    const answer = vault.core.errorAnswer(full);
    await vault.close();
    expect(answer.status).toBe(500);
    expect(lines.join("\n")).toContain("internal error: Error ENOSPC (write): disk full");
  });
});

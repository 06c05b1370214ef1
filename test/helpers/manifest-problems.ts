import { expect } from "vitest";
import { ManifestError, parseManifest } from "../../src/config/manifest.js";

/** The problems a manifest text is refused with, as "line:col: reason"; fails when it loads. */
export function manifestProblems(text: string, file = "m.yaml"): string[] {
  try {
    parseManifest(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    return (error as ManifestError).problems.map((p) => `${p.line}:${p.col}: ${p.reason}`);
  }
  throw new Error("expected a ManifestError");
}

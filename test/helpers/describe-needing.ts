import { describe, it } from "vitest";

function inCI(): boolean {
  const ci = process.env["CI"];
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

/**
 * `describe` for a suite that needs something the machine may lack (`needs`, e.g. "Debian
 * Python modules hvac"). `missing` says why it is not there, undefined when it is. Then the
 * suite fails under CI=true (one failing test with the reason, pointing at `ciSource`, where
 * CI gets it) and is skipped, with the reason printed, elsewhere.
 */
export function describeNeeding(
  needs: string,
  missing: string | undefined,
  ciSource: string,
  name: string,
  fn: () => void,
): void {
  if (missing === undefined) {
    describe(name, fn);
    return;
  }
  if (inCI()) {
    describe(name, () => {
      it(`needs ${needs}`, () => {
        throw new Error(`${missing} (CI must provide them: see ${ciSource})`);
      });
    });
    return;
  }
  console.warn(`[skip] ${name}: ${missing}`);
  describe.skip(`${name} [skipped: ${missing}]`, fn);
}

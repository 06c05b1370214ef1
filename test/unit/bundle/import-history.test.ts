import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { signerSequence } from "../../../src/bundle/export-sequence.js";
import type { BundleHeader } from "../../../src/bundle/format.js";
import {
  checkNewer,
  defaultTrustStateFile,
  type ImportCandidate,
  isNewer,
  readImportHistory,
  recordImport,
} from "../../../src/bundle/import-history.js";
import { ERRORS } from "../../../src/lib/errors.js";
import { STATE_FILES, StateDir } from "../../../src/state/state-dir.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("strongroom-import-history-");
const SIGNER = "sr1:4fbxgbsy2dvsby63gkgklc74z7u2h6hg";

function candidate(sequence: number | null, createdAt: string, hash = "a"): ImportCandidate {
  const header: BundleHeader = {
    formatVersion: 1,
    deployment: "overcloud",
    createdAt,
    sequence,
    counts: { secrets: 1, records: 3 },
    chunkSize: 65536,
    signer: SIGNER,
    recipients: [],
  };
  return { file: `b${sequence}.bundle`, header, headerHash: hash.repeat(64) };
}

const notNewer = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(ERRORS.STRONGROOM_ERR_BUNDLE_NOT_NEWER.is(error), String(error)).toBe(true);
    expect((error as Error).message).not.toContain("\n");
    return (error as Error).message;
  }
  throw new Error("not refused");
};

describe("which bundle is newer", () => {
  it("orders by sequence when both have one, even against the clock", () => {
    expect(
      isNewer(
        candidate(5, "2024-01-01T00:00:00Z").header,
        candidate(4, "2025-01-01T00:00:00Z").header,
      ),
    ).toBe(true);
    expect(
      isNewer(
        candidate(4, "2025-01-01T00:00:00Z").header,
        candidate(5, "2024-01-01T00:00:00Z").header,
      ),
    ).toBe(false);
    expect(
      isNewer(
        candidate(5, "2025-01-01T00:00:00Z").header,
        candidate(5, "2024-01-01T00:00:00Z").header,
      ),
    ).toBe(false);
  });

  it("orders by the signed creation time when either has none", () => {
    const early = "2024-05-01T12:00:00.000Z";
    const late = "2024-05-01T13:00:00.000+01:00";
    expect(
      isNewer(candidate(null, "2024-05-01T12:00:00.001Z").header, candidate(9, early).header),
    ).toBe(true);
    expect(isNewer(candidate(9, early).header, candidate(null, early).header)).toBe(false);
    // The same instant in another zone is not newer.
    expect(isNewer(candidate(null, late).header, candidate(null, early).header)).toBe(false);
  });
});

describe("the import trust state", () => {
  it("lives beside the key by default", () => {
    expect(defaultTrustStateFile("/etc/strongroom/node-a.key")).toBe(
      "/etc/strongroom/node-a.imports.json",
    );
    expect(defaultTrustStateFile("keys/site")).toBe("keys/site.imports.json");
  });

  it("accepts anything first, then only newer bundles; a replay and an older one are refused", () => {
    const file = join(tempDir(), "node.imports.json");
    expect(readImportHistory(file).size).toBe(0);
    recordImport(file, candidate(10, "2024-05-01T12:00:00Z", "a"), { allowOlder: false });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const history = readImportHistory(file);
    expect(history.get(SIGNER)).toMatchObject({ sequence: 10, headerHash: "a".repeat(64) });

    expect(notNewer(() => checkNewer(history, candidate(10, "2024-05-01T12:00:00Z", "a")))).toMatch(
      /already imported.*replay.*--allow-older/,
    );
    expect(notNewer(() => checkNewer(history, candidate(9, "2024-05-02T12:00:00Z", "b")))).toMatch(
      /sequence 9 .* is not newer than .*sequence 10 .*--allow-older/,
    );
    checkNewer(history, candidate(11, "2024-04-01T12:00:00Z", "c"));
    // Another signer has its own memory.
    const other = candidate(1, "2020-01-01T00:00:00Z", "d");
    checkNewer(history, { ...other, header: { ...other.header, signer: "sr1:other" } });
  });

  it("records checks again, unless allowOlder; allowOlder makes the older one the last", () => {
    const file = join(tempDir(), "node.imports.json");
    recordImport(file, candidate(10, "2024-05-01T12:00:00Z", "a"), { allowOlder: false });
    notNewer(() =>
      recordImport(file, candidate(3, "2024-05-01T12:00:00Z", "b"), { allowOlder: false }),
    );
    expect(readImportHistory(file).get(SIGNER)?.sequence).toBe(10);
    recordImport(file, candidate(3, "2024-05-01T12:00:00Z", "b"), { allowOlder: true });
    expect(readImportHistory(file).get(SIGNER)?.sequence).toBe(3);
    checkNewer(readImportHistory(file), candidate(10, "2024-05-01T12:00:00Z", "e"));
  });

  it("undo puts the file back as it was, or removes the one it created", () => {
    const file = join(tempDir(), "node.imports.json");
    const undoFirst = recordImport(file, candidate(1, "2024-05-01T12:00:00Z", "a"), {
      allowOlder: false,
    });
    const before = readFileSync(file, "utf8");
    const undoSecond = recordImport(file, candidate(2, "2024-05-01T12:00:00Z", "b"), {
      allowOlder: false,
    });
    undoSecond();
    expect(readFileSync(file, "utf8")).toBe(before);
    undoFirst();
    expect(existsSync(file)).toBe(false);
  });

  it("refuses a file that is not one, or that others may write, instead of forgetting", () => {
    const dir = tempDir();
    const foreign: Array<[string, string]> = [
      ["garbage", "not json"],
      ["null", "null"],
      ["version", '{"version":2,"signers":{}}'],
      ["entry", `{"version":1,"signers":{"${SIGNER}":{"sequence":"ten"}}}`],
    ];
    for (const [name, text] of foreign) {
      const file = join(dir, `${name}.json`);
      writeFileSync(file, text, { mode: 0o600 });
      expect(() => readImportHistory(file), name).toThrow(/not a strongroom import trust state/);
      expect(() =>
        recordImport(file, candidate(1, "2024-05-01T12:00:00Z"), { allowOlder: true }),
      ).toThrow(/not a strongroom import trust state/);
    }
    const shared = join(dir, "shared.json");
    recordImport(shared, candidate(1, "2024-05-01T12:00:00Z"), { allowOlder: false });
    chmodSync(shared, 0o666);
    expect(() => readImportHistory(shared)).toThrow(/writable by other users/);
  });
});

describe("the exporter's sequence", () => {
  it("increases strictly, is stored before use, and takes the clock as a floor", async () => {
    const dir = StateDir.create(join(tempDir(), "state"));
    let clock = 1000;
    const next = signerSequence(dir, () => clock);
    expect([await next(), await next(), await next()]).toEqual([1000, 1001, 1002]);
    expect(readFileSync(dir.file(STATE_FILES.bundleSequence), "utf8")).toBe("1002\n");
    clock = 5000;
    expect(await next()).toBe(5000);
    // The clock stepping back does not take the sequence back, in this process or the next.
    clock = 10;
    expect(await signerSequence(dir, () => clock)()).toBe(5001);
    // Draws started together still get one number each.
    expect(await Promise.all([next(), next(), next()])).toEqual([5002, 5003, 5004]);
    // A lost counter falls back to the clock.
    dir.remove(STATE_FILES.bundleSequence);
    clock = 6000;
    expect(await next()).toBe(6000);
    dir.write(STATE_FILES.bundleSequence, "twelve\n");
    await expect(next()).rejects.toThrow(/does not hold a bundle sequence number/);
  });
});

import { accessSync, constants, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { ioFailureDetail, isDiskFull, isReadOnly } from "../../../src/lib/io-failure.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("io-failure-");

/** The error `run` throws: each is produced by the OS or SQLite, not built by hand. */
function thrownBy(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("did not fail");
}

describe("io failures", () => {
  it("recognizes a full disk by the OS's ENOSPC", () => {
    const error = thrownBy(() => writeFileSync("/dev/full", "a value"));
    expect(isDiskFull(error)).toBe(true);
    expect(isReadOnly(error)).toBe(false);
    expect(ioFailureDetail(error)).toBe("ENOSPC (write): disk full");
  });

  it("recognizes a full database by SQLite's SQLITE_FULL, and never quotes the data", () => {
    const db = new Database(":memory:");
    db.pragma("max_page_count = 2");
    db.exec("CREATE TABLE t (x)");
    const error = thrownBy(() => {
      for (let i = 0; i < 100; i++)
        db.prepare("INSERT INTO t VALUES (?)").run("s3cret".repeat(200));
    });
    db.close();
    expect(isDiskFull(error)).toBe(true);
    expect(ioFailureDetail(error)).toBe("SQLITE_FULL: disk full");
  });

  it("names the code, call and path of a refused access", () => {
    const file = join(tempDir(), "not-executable");
    writeFileSync(file, "", { mode: 0o644 });
    const error = thrownBy(() => accessSync(file, constants.X_OK));
    expect(isReadOnly(error)).toBe(true);
    expect(ioFailureDetail(error)).toBe(`EACCES (access ${file})`);
  });

  it("says nothing of an error without a code", () => {
    expect(ioFailureDetail(new TypeError("a secret value"))).toBe("");
    expect(isDiskFull(undefined)).toBe(false);
  });
});

import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  auditCheckpointFile,
  openAuditLog,
  readAuditTail,
  verifyAuditLog,
} from "../../../src/lib/audit-log.js";
import { ERRORS } from "../../../src/lib/errors.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("strongroom-audit-");

function filesIn(dir: string) {
  return { file: join(dir, "audit.log"), keyFile: join(dir, "audit.key") };
}

async function logOf(count: number, dir = tempDir()) {
  const files = filesIn(dir);
  const log = openAuditLog(files);
  for (let i = 1; i <= count; i += 1) {
    log.record({ event: "lookup", identity: "service:nova", service: "nova", n: i });
  }
  await log.close();
  return files;
}

function lines(file: string): string[] {
  return readFileSync(file, "utf8").split("\n").slice(0, -1);
}

function brokenAt(files: ReturnType<typeof filesIn>): string {
  try {
    verifyAuditLog(files);
  } catch (error) {
    expect(ERRORS.STRONGROOM_ERR_AUDIT_CHAIN.is(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error("the chain verified");
}

describe("audit log chain", () => {
  it("writes one 0600 JSON line per record, in order, with a 0600 key", async () => {
    const files = await logOf(50);
    expect(statSync(files.file).mode & 0o777).toBe(0o600);
    expect(statSync(files.keyFile).mode & 0o777).toBe(0o600);
    const records = lines(files.file).map((line) => JSON.parse(line));
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(records.map((r) => r.n)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(verifyAuditLog(files)).toEqual({ records: 50 });
  });

  it("continues the chain across reopenings", async () => {
    const dir = tempDir();
    await logOf(3, dir);
    const files = await logOf(2, dir);
    expect(verifyAuditLog(files)).toEqual({ records: 5 });
  });

  it("names an edited line", async () => {
    const files = await logOf(5);
    const all = lines(files.file);
    all[2] = all[2]!.replace('"service":"nova"', '"service":"neutron"');
    writeFileSync(files.file, `${all.join("\n")}\n`);
    expect(brokenAt(files)).toMatch(/line 3: .*edited/);
  });

  it("names the line after a removed one, and a removed first line", async () => {
    const files = await logOf(5);
    const all = lines(files.file);
    writeFileSync(files.file, `${[...all.slice(0, 3), ...all.slice(4)].join("\n")}\n`);
    expect(brokenAt(files)).toMatch(/line 4: .*removed/);
    writeFileSync(files.file, `${all.slice(1).join("\n")}\n`);
    expect(brokenAt(files)).toMatch(/line 1: .*removed/);
  });

  it("refuses a line whose MAC was recomputed without the key", async () => {
    const files = await logOf(2);
    const all = lines(files.file);
    all[1] = all[1]!.replace(/"mac":"[0-9a-f]{64}"/, `"mac":"${"0".repeat(64)}"`);
    writeFileSync(files.file, `${all.join("\n")}\n`);
    expect(brokenAt(files)).toMatch(/line 2:/);
  });

  it("tails the last records", async () => {
    const files = await logOf(7);
    expect(readAuditTail(files.file, 3).map((r) => r.n)).toEqual([5, 6, 7]);
    expect(readAuditTail(join(tempDir(), "none.log"), 3)).toEqual([]);
  });

  it("names the missing records when the last 3 lines were removed", async () => {
    const files = await logOf(10);
    const all = lines(files.file);
    writeFileSync(files.file, `${all.slice(0, -3).join("\n")}\n`);
    expect(brokenAt(files)).toMatch(
      /ends at record 7 but its checkpoint sealed 10: records 8 to 10 missing/,
    );
    writeFileSync(files.file, "");
    expect(brokenAt(files)).toMatch(/records 1 to 10 missing/);
  });

  it("detects a log replaced by another chain under the same key, and an edited checkpoint", async () => {
    const dir = tempDir();
    const files = await logOf(4, dir);
    const original = readFileSync(files.file, "utf8");
    const checkpoint = readFileSync(auditCheckpointFile(files.file), "utf8");
    // Another log of 4 records with the same key: intact chain, not the sealed one.
    rmSync(files.file);
    rmSync(auditCheckpointFile(files.file));
    await logOf(4, dir);
    writeFileSync(auditCheckpointFile(files.file), checkpoint);
    expect(brokenAt(files)).toMatch(/line 4: not the record its checkpoint sealed: .*replaced/);
    writeFileSync(files.file, original);
    expect(verifyAuditLog(files)).toEqual({ records: 4 });
    writeFileSync(auditCheckpointFile(files.file), checkpoint.replace('"seq":4', '"seq":2'));
    expect(brokenAt(files)).toMatch(/checkpoint was edited/);
  });

  it("refuses a log whose checkpoint was removed", async () => {
    const files = await logOf(2);
    rmSync(auditCheckpointFile(files.file));
    expect(brokenAt(files)).toMatch(/checkpoint: missing/);
  });

  it("keeps the checkpoint 0600 and refuses to continue a truncated log (it would reseal it)", async () => {
    const dir = tempDir();
    const files = await logOf(5, dir);
    expect(statSync(auditCheckpointFile(files.file)).mode & 0o777).toBe(0o600);
    writeFileSync(files.file, `${lines(files.file).slice(0, -2).join("\n")}\n`);
    expect(() => openAuditLog(files)).toThrow(/records 4 to 5 missing .*move .* aside/);
    expect(brokenAt(files)).toMatch(/records 4 to 5 missing/);
  });

  it("accepts records written after the last sealed checkpoint (a crash between the two writes)", async () => {
    const dir = tempDir();
    const files = await logOf(3, dir);
    const sealed = readFileSync(auditCheckpointFile(files.file), "utf8");
    await logOf(2, dir);
    writeFileSync(auditCheckpointFile(files.file), sealed);
    expect(verifyAuditLog(files)).toEqual({ records: 5 });
  });

  it("hands every finished line to its sinks, in order", async () => {
    const seen: string[] = [];
    const files = filesIn(tempDir());
    let closed = false;
    const log = openAuditLog(files, undefined, [
      {
        write: (line) => seen.push(line),
        close: async () => {
          closed = true;
        },
      },
    ]);
    log.record({ event: "lookup", n: 1 });
    log.record({ event: "lookup", n: 2 });
    await log.close();
    expect(seen).toEqual(lines(files.file).map((line) => `${line}\n`));
    expect(closed).toBe(true);
  });
});

import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openAuditLog, readAuditTail, verifyAuditLog } from "../../../src/lib/audit-log.js";
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
});

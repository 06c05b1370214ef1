import { readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { writeFileAtomic, writeStreamAtomic } from "../../../src/lib/files.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("strongroom-files-");

const chunks = (count: number, size: number) =>
  Array.from({ length: count }, (_, i) => Buffer.alloc(size, 97 + (i % 26)));

describe("writeFileAtomic", () => {
  it("writes a 0600 file and leaves no temporary file", () => {
    const dir = tempDir();
    const file = join(dir, "sub", "state.json");
    writeFileAtomic(file, "{}\n");
    expect(readFileSync(file, "utf8")).toBe("{}\n");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, "sub"))).toEqual(["state.json"]);
  });
});

describe("writeStreamAtomic", () => {
  it("writes what the stream carries into a 0600 file and answers what fill answered", async () => {
    const dir = tempDir();
    const file = join(dir, "out.bundle");
    const parts = chunks(64, 16_384);
    const answer = await writeStreamAtomic(file, async (sink) => {
      await pipeline(Readable.from(parts), sink);
      return "summary";
    });
    expect(answer).toBe("summary");
    expect(readFileSync(file).equals(Buffer.concat(parts))).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["out.bundle"]);
  });

  it("ends a sink that fill left open", async () => {
    const file = join(tempDir(), "out");
    await writeStreamAtomic(file, async (sink) => {
      sink.write("partial ");
      sink.write("but complete");
    });
    expect(readFileSync(file, "utf8")).toBe("partial but complete");
  });

  it("a failing fill leaves the previous file as it was and no temporary file", async () => {
    const dir = tempDir();
    const file = join(dir, "out.bundle");
    writeFileSync(file, "the previous bundle", { mode: 0o600 });
    const cut = new Error("the broker cut the stream");
    const source = Readable.from(
      (async function* () {
        yield Buffer.alloc(65_536, 1);
        throw cut;
      })(),
    );
    await expect(writeStreamAtomic(file, (sink) => pipeline(source, sink))).rejects.toBe(cut);
    expect(readFileSync(file, "utf8")).toBe("the previous bundle");
    expect(readdirSync(dir)).toEqual(["out.bundle"]);
  });

  it("a missing directory fails before fill runs; nothing is created", async () => {
    const dir = tempDir();
    let filled = false;
    await expect(
      writeStreamAtomic(join(dir, "missing", "out"), async () => {
        filled = true;
      }),
    ).rejects.toMatchObject({ code: "ENOENT" });
    expect(filled).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("replaces a symlink at the target instead of writing through it", async () => {
    const dir = tempDir();
    const elsewhere = join(dir, "elsewhere");
    writeFileSync(elsewhere, "untouched");
    const file = join(dir, "out");
    symlinkSync(elsewhere, file);
    await writeStreamAtomic(file, async (sink) => {
      sink.end("bundle");
    });
    expect(readFileSync(elsewhere, "utf8")).toBe("untouched");
    expect(statSync(file).isFile()).toBe(true);
    expect(readFileSync(file, "utf8")).toBe("bundle");
  });
});

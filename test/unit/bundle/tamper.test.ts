/**
 * Every single-bit flip, every truncation and any appended bytes must be refused with a
 * BundleError: by openBundle, or at the latest by verifyAll. Never success, never another error.
 */
import { writeFileSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fc, test } from "@fast-check/vitest";
import { beforeAll, describe, expect, it } from "vitest";
import { BundleError } from "../../../src/bundle/errors.js";
import { openBundle } from "../../../src/bundle/reader.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";
import { type Keys, makeKeys, recordOf, writeBundleFile } from "./bundle-fixtures.js";

const tempDir = useTempDirs("strongroom-bundle-tamper-");
let keys: Keys;
let pristine: Buffer;
let secretTexts: string[];

beforeAll(async () => {
  keys = await makeKeys();
  const dir = tempDir();
  // ~2 KB over many 96-byte chunks: header, signature, stream header, lengths, tags all present
  const records = Array.from({ length: 12 }, (_, i) => recordOf(i, 40 + i * 9));
  const { file } = await writeBundleFile(dir, records, {
    signer: keys.signer,
    recipients: [keys.recipient],
    chunkSize: 96,
  });
  pristine = await readFile(file);
  secretTexts = [
    keys.recipient.boxSecretKey,
    keys.recipient.signSecretKey,
    keys.signer.signSecretKey,
  ]
    .map((k) => Buffer.from(k))
    .flatMap((k) => [k.toString("base64"), k.toString("hex")]);
});

/** undefined when the bundle was accepted; the error otherwise. */
async function outcome(file: string): Promise<unknown> {
  try {
    const opened = await openBundle(file, { key: keys.recipient, trust: [keys.signer] });
    await opened.verifyAll();
    return undefined;
  } catch (error) {
    return error;
  }
}

function expectRefused(error: unknown, where: string): asserts error is BundleError {
  if (!(error instanceof BundleError)) {
    throw new Error(
      `${where}: ${error === undefined ? "accepted" : `not a BundleError: ${error}`}`,
    );
  }
  expect(error.code).not.toBe("STRONGROOM_ERR_BUNDLE_IO");
  expect(error.message).not.toContain("\n");
  expect(error.message.length).toBeLessThan(200);
  for (const secret of secretTexts) expect(error.message).not.toContain(secret);
}

describe("tampered bundles", () => {
  it("the untouched bundle opens", async () => {
    const file = join(tempDir(), "ok.bundle");
    writeFileSync(file, pristine);
    expect(await outcome(file)).toBeUndefined();
    expect(pristine.length).toBeGreaterThan(1500);
    expect(pristine.length).toBeLessThan(3000);
  });

  it("refuses every single-bit flip, at every bit of the file", async () => {
    const file = join(tempDir(), "flipped.bundle");
    writeFileSync(file, pristine);
    const handle = await open(file, "r+");
    const codes = new Map<string, number>();
    try {
      for (let offset = 0; offset < pristine.length; offset++) {
        for (let bit = 0; bit < 8; bit++) {
          await handle.write(Uint8Array.of(pristine[offset]! ^ (1 << bit)), 0, 1, offset);
          const error = await outcome(file);
          expectRefused(error, `bit ${bit} of byte ${offset}`);
          codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
        }
        await handle.write(pristine, offset, 1, offset);
      }
    } finally {
      await handle.close();
    }
    expect([...codes.keys()].sort()).toEqual([
      "STRONGROOM_ERR_BUNDLE_CORRUPT",
      "STRONGROOM_ERR_BUNDLE_SIGNATURE",
      "STRONGROOM_ERR_BUNDLE_TRUNCATED",
      "STRONGROOM_ERR_BUNDLE_VERSION",
    ]);
  }, 180_000);

  it("refuses the bundle cut at every length, as truncated", async () => {
    const file = join(tempDir(), "cut.bundle");
    for (let length = 0; length < pristine.length; length++) {
      writeFileSync(file, pristine.subarray(0, length));
      const error = await outcome(file);
      expectRefused(error, `cut at ${length}`);
      expect(error.code, `cut at ${length}`).toBe("STRONGROOM_ERR_BUNDLE_TRUNCATED");
    }
  }, 60_000);

  test.prop([fc.uint8Array({ minLength: 1, maxLength: 300 })], { numRuns: 100 })(
    "refuses any bytes appended after the final chunk",
    async (appended) => {
      const file = join(tempDir(), "appended.bundle");
      writeFileSync(file, Buffer.concat([pristine, appended]));
      const error = await outcome(file);
      expectRefused(error, "appended");
      expect(error.message).toContain("unexpected bytes after the final chunk");
    },
  );

  it("refuses a second copy of the bundle appended, and records() refuses it too", async () => {
    const file = join(tempDir(), "twice.bundle");
    writeFileSync(file, Buffer.concat([pristine, pristine]));
    expectRefused(await outcome(file), "appended copy");
    const opened = await openBundle(file, { key: keys.recipient, trust: [keys.signer] });
    const reading = (async () => {
      for await (const _ of opened.records());
    })();
    await expect(reading).rejects.toThrow(/unexpected bytes after the final chunk/);
  });

  test.prop(
    [
      fc.array(fc.record({ offset: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }), {
        minLength: 1,
        maxLength: 6,
      }),
    ],
    { numRuns: 150 },
  )("refuses any few corrupted bytes, through records() as well", async (changes) => {
    const bytes = Buffer.from(pristine);
    for (const { offset, mask } of changes) bytes[offset % bytes.length]! ^= mask;
    if (bytes.equals(pristine)) return; // two changes cancelled out
    const file = join(tempDir(), "corrupted.bundle");
    writeFileSync(file, bytes);
    let error: unknown;
    try {
      const opened = await openBundle(file, { key: keys.recipient, trust: [keys.signer] });
      for await (const _ of opened.records());
    } catch (caught) {
      error = caught;
    }
    expectRefused(error, "corrupted bytes");
  });
});

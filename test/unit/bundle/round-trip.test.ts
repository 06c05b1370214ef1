import { createWriteStream, readFileSync, writeFileSync } from "node:fs";
import { Writable } from "node:stream";
import { fc, test } from "@fast-check/vitest";
import { beforeAll, describe, expect, it } from "vitest";
import { BundleError } from "../../../src/bundle/errors.js";
import { fingerprint } from "../../../src/bundle/keys.js";
import { openBundle } from "../../../src/bundle/reader.js";
import { writeBundle } from "../../../src/bundle/writer.js";
import { loadSodium } from "../../../src/lib/sodium.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";
import {
  asAsync,
  HEADER,
  type Keys,
  makeKeys,
  readBundleFile,
  recordOf,
  writeBundleFile,
} from "./bundle-fixtures.js";

const tempDir = useTempDirs("strongroom-bundle-");
let keys: Keys;
beforeAll(async () => {
  keys = await makeKeys();
});

async function roundTrip(sizes: number[], chunkSize?: number) {
  const records = sizes.map((size, index) => recordOf(index, size));
  const { file, result } = await writeBundleFile(tempDir(), records, {
    signer: keys.signer,
    recipients: [keys.recipient],
    chunkSize,
  });
  const back = await readBundleFile(file, keys.recipient, [keys.signer]);
  expect(back.map((r) => Buffer.from(r).toString("hex"))).toEqual(
    records.map((r) => Buffer.from(r).toString("hex")),
  );
  return { file, result };
}

describe("bundle round trips", () => {
  it("carries no records", async () => {
    const { result } = await roundTrip([]);
    expect(result).toMatchObject({ records: 0, bytes: 0 });
  });

  it("carries one record, and an empty one", async () => {
    await roundTrip([300]);
    await roundTrip([0]);
  });

  it("carries many records across many chunks", async () => {
    const sizes = Array.from({ length: 2000 }, (_, i) => 150 + ((i * 37) % 200));
    const { result } = await roundTrip(sizes, 4096);
    expect(result.records).toBe(2000);
    expect(result.bytes).toBe(sizes.reduce((a, b) => a + b, 0));
  });

  it("carries records larger than a chunk, and one of 1 MiB in the default 64 KiB chunks", async () => {
    await roundTrip([10_000, 5, 3 * 1024 + 1, 0, 2049], 1024);
    await roundTrip([1024 * 1024, 7]);
  });

  it("handles plaintext that ends exactly on, just before and just after a chunk boundary", async () => {
    const chunkSize = 256;
    // one record of n bytes is n + 4 bytes of plaintext
    for (const plaintext of [
      chunkSize,
      chunkSize - 1,
      chunkSize + 1,
      2 * chunkSize,
      3 * chunkSize,
    ]) {
      await roundTrip([plaintext - 4], chunkSize);
    }
    // a length prefix split across two chunks
    await roundTrip([chunkSize - 6, 10, 0, chunkSize - 8], chunkSize);
  });

  test.prop(
    [fc.array(fc.nat({ max: 700 }), { maxLength: 40 }), fc.integer({ min: 64, max: 512 })],
    { numRuns: 25 },
  )("any records, any chunk size: what goes in comes out", async (sizes, chunkSize) => {
    await roundTrip(sizes, chunkSize);
  });

  it("records() can be read twice, and verifyAll counts records and bytes", async () => {
    const { file } = await roundTrip([10, 20, 30], 64);
    const opened = await openBundle(file, { key: keys.recipient, trust: [keys.signer] });
    expect(await opened.verifyAll()).toEqual({ records: 3, bytes: 60 });
    for (let pass = 0; pass < 2; pass++) {
      let count = 0;
      for await (const _ of opened.records()) count += 1;
      expect(count).toBe(3);
    }
  });
});

describe("bundle header", () => {
  it("reports the signed header, the signer and the recipients", async () => {
    const { file, result } = await writeBundleFile(tempDir(), [recordOf(0, 10)], {
      signer: keys.signer,
      recipients: [keys.recipient, keys.other, keys.recipient],
    });
    expect(result.recipients).toEqual([fingerprint(keys.recipient), fingerprint(keys.other)]);
    const opened = await openBundle(file, {
      key: keys.other,
      trust: [keys.recipient, keys.signer],
    });
    expect(opened.header).toEqual({
      formatVersion: 1,
      ...HEADER,
      sequence: null,
      chunkSize: 65536,
      signer: fingerprint(keys.signer),
      recipients: result.recipients,
    });
    expect(opened.headerHash).toBe(result.headerHash);
    expect(readFileSync(file).subarray(0, 8).toString()).toBe("SRBUNDLE");
  });

  it("carries a sequence number in the signed header, after createdAt", async () => {
    const file = `${tempDir()}/sequenced.bundle`;
    await writeBundle({
      out: createWriteStream(file),
      header: { ...HEADER, sequence: 1_733_000_000_123 },
      recipients: [keys.recipient],
      signer: keys.signer,
      records: asAsync([]),
    });
    const opened = await openBundle(file, { key: keys.recipient, trust: [keys.signer] });
    expect(opened.header.sequence).toBe(1_733_000_000_123);
    const header = readFileSync(file).subarray(14, 200).toString("latin1");
    expect(header).toMatch(/"createdAt":"[^"]+","sequence":1733000000123,"counts"/);
  });

  it("refuses a validly signed header whose sequence is not a positive integer", async () => {
    const sodium = await loadSodium();
    const file = `${tempDir()}/zero.bundle`;
    await writeBundle({
      out: createWriteStream(file),
      header: { ...HEADER, sequence: 7 },
      recipients: [keys.recipient],
      signer: keys.signer,
      records: asAsync([]),
    });
    const bytes = readFileSync(file);
    const headerEnd = 14 + bytes.readUInt32BE(10);
    const header = bytes.subarray(14, headerEnd);
    const at = header.indexOf('"sequence":7');
    expect(at).toBeGreaterThan(0);
    header.write('"sequence":0', at, "latin1");
    const signature = sodium.crypto_sign_detached(
      bytes.subarray(0, headerEnd),
      keys.signer.signSecretKey,
    );
    Buffer.from(signature).copy(bytes, headerEnd);
    writeFileSync(file, bytes);
    await expect(openBundle(file, { key: keys.recipient, trust: [keys.signer] })).rejects.toThrow(
      /the header's sequence is invalid/,
    );
  });

  it("keeps a null deployment (a bundle of every deployment)", async () => {
    const file = `${tempDir()}/all.bundle`;
    await writeBundle({
      out: createWriteStream(file),
      header: { ...HEADER, deployment: null },
      recipients: [keys.recipient],
      signer: keys.signer,
      records: asAsync([]),
    });
    const opened = await openBundle(file, { key: keys.recipient, trust: [keys.signer] });
    expect(opened.header.deployment).toBeNull();
  });
});

describe("who may open a bundle", () => {
  it("every recipient opens it; a third key cannot, with its fingerprint in the message", async () => {
    const third = (await makeKeys()).recipient;
    const { file } = await writeBundleFile(tempDir(), [recordOf(1, 100)], {
      signer: keys.signer,
      recipients: [keys.recipient, keys.other],
    });
    for (const key of [keys.recipient, keys.other]) {
      expect(await readBundleFile(file, key, [keys.signer])).toHaveLength(1);
    }
    const refusal = await openBundle(file, { key: third, trust: [keys.signer] }).catch((e) => e);
    expect(refusal).toBeInstanceOf(BundleError);
    expect(refusal.code).toBe("STRONGROOM_ERR_BUNDLE_NOT_RECIPIENT");
    expect(refusal.message).toBe(
      `${file}: not sealed to this key (fingerprint ${fingerprint(third)})`,
    );
  });

  it("refuses a signer that is not trusted, before looking at the data key", async () => {
    const { file } = await writeBundleFile(tempDir(), [], {
      signer: keys.signer,
      recipients: [keys.recipient],
    });
    // the key is not a recipient either: the signature check must come first
    const refusal = await openBundle(file, { key: keys.other, trust: [keys.other] }).catch(
      (e) => e,
    );
    expect(refusal.code).toBe("STRONGROOM_ERR_BUNDLE_SIGNATURE");
    expect(refusal.message).toContain(`signed by ${fingerprint(keys.signer)}`);
    const noTrust = await openBundle(file, { key: keys.recipient, trust: [] }).catch((e) => e);
    expect(noTrust.code).toBe("STRONGROOM_ERR_BUNDLE_SIGNATURE");
  });

  it("refuses a key pair whose secret half does not match the sealed-to public key", async () => {
    const { file } = await writeBundleFile(tempDir(), [], {
      signer: keys.signer,
      recipients: [keys.recipient],
    });
    const mismatched = { ...keys.recipient, boxSecretKey: keys.other.boxSecretKey };
    const refusal = await openBundle(file, { key: mismatched, trust: [keys.signer] }).catch(
      (e) => e,
    );
    expect(refusal.code).toBe("STRONGROOM_ERR_BUNDLE_NOT_RECIPIENT");
    expect(refusal.message).toMatch(/does not open with this secret key$/);
  });

  it("refuses a missing file with one line", async () => {
    const file = `${tempDir()}/absent.bundle`;
    const refusal = await openBundle(file, { key: keys.recipient, trust: [keys.signer] }).catch(
      (e) => e,
    );
    expect(refusal).toBeInstanceOf(BundleError);
    expect(refusal.message).toBe(`${file}: cannot read the bundle (ENOENT)`);
  });
});

describe("writing", () => {
  it("waits for a slow output (backpressure), holding at most ~1 MiB, and reports progress", async () => {
    let written = 0;
    let mostBuffered = 0;
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk, _encoding, done) {
        written += chunk.length;
        mostBuffered = Math.max(mostBuffered, slow.writableLength);
        setImmediate(done);
      },
    });
    const progress: number[] = [];
    const result = await writeBundle({
      out: slow,
      header: HEADER,
      recipients: [keys.recipient],
      signer: keys.signer,
      records: (function* () {
        for (let i = 0; i < 12_000; i++) yield recordOf(i, 250);
      })(),
      chunkSize: 4096,
      onProgress: (p) => progress.push(p.records),
    });
    expect(result.bundleBytes).toBeGreaterThan(2.5 * 1024 * 1024);
    expect(written).toBe(result.bundleBytes);
    expect(slow.writableFinished).toBe(true);
    expect(mostBuffered).toBeGreaterThan(16 * 1024);
    expect(mostBuffered).toBeLessThan(1024 * 1024 + 8192);
    expect(progress.length).toBeGreaterThan(100);
    expect(progress.at(-1)).toBe(12_000);
  });

  it("fails when the output is closed before the bundle is complete", async () => {
    let writes = 0;
    const closing = new Writable({
      write(_chunk, _encoding, done) {
        writes += 1;
        if (writes === 20) closing.destroy();
        else setImmediate(done);
      },
    });
    const failure = await writeBundle({
      out: closing,
      header: HEADER,
      recipients: [keys.recipient],
      signer: keys.signer,
      records: asAsync(Array.from({ length: 5000 }, (_, i) => recordOf(i, 1000))),
    }).catch((e) => e);
    expect(failure).toBeInstanceOf(BundleError);
    expect(failure.message).toMatch(/^cannot write the bundle: /);
  });

  it("fails cleanly when the output fails", async () => {
    const broken = new Writable({
      write(_chunk, _encoding, done) {
        done(Object.assign(new Error("disk full"), { code: "ENOSPC" }));
      },
    });
    const failure = await writeBundle({
      out: broken,
      header: HEADER,
      recipients: [keys.recipient],
      signer: keys.signer,
      records: asAsync(Array.from({ length: 100 }, (_, i) => recordOf(i, 1000))),
    }).catch((e) => e);
    expect(failure).toBeInstanceOf(BundleError);
    expect(failure.message).toBe("cannot write the bundle: ENOSPC");
  });

  it("refuses bad input: no recipient, a bad time or sequence, a record over 16 MiB", async () => {
    const base = {
      out: new Writable({ write: (_c, _e, done) => done() }),
      header: HEADER,
      recipients: [keys.recipient],
      signer: keys.signer,
      records: asAsync([]),
    };
    await expect(writeBundle({ ...base, recipients: [] })).rejects.toThrow(
      /at least one recipient/,
    );
    await expect(
      writeBundle({ ...base, header: { ...HEADER, createdAt: "yesterday" } }),
    ).rejects.toThrow(/createdAt/);
    for (const sequence of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1]) {
      await expect(
        writeBundle({ ...base, header: { ...HEADER, sequence } }),
        String(sequence),
      ).rejects.toThrow(/sequence must be a positive integer/);
    }
    await expect(
      writeBundle({ ...base, records: asAsync([new Uint8Array(16 * 1024 * 1024 + 1)]) }),
    ).rejects.toThrow(/over 16 MiB/);
  });
});

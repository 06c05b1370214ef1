import { createWriteStream } from "node:fs";
import { join } from "node:path";
import {
  type BundleKeyPair,
  type BundlePublicKey,
  generateBundleKeyPair,
} from "../../../src/bundle/keys.js";
import { openBundle } from "../../../src/bundle/reader.js";
import { type WriteBundleResult, writeBundle } from "../../../src/bundle/writer.js";

export interface Keys {
  signer: BundleKeyPair;
  recipient: BundleKeyPair;
  other: BundleKeyPair;
}

export async function makeKeys(): Promise<Keys> {
  const [signer, recipient, other] = await Promise.all([
    generateBundleKeyPair(),
    generateBundleKeyPair(),
    generateBundleKeyPair(),
  ]);
  return { signer: signer!, recipient: recipient!, other: other! };
}

export const HEADER = {
  deployment: "overcloud",
  createdAt: "2024-05-01T12:00:00.000Z",
  counts: { secrets: 3 },
};

export async function* asAsync(records: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const record of records) yield record;
}

export async function writeBundleFile(
  dir: string,
  records: Iterable<Uint8Array>,
  options: {
    signer: BundleKeyPair;
    recipients: readonly BundlePublicKey[];
    chunkSize?: number;
    name?: string;
  },
): Promise<{ file: string; result: WriteBundleResult }> {
  const file = join(dir, options.name ?? "test.bundle");
  const result = await writeBundle({
    out: createWriteStream(file),
    header: HEADER,
    recipients: options.recipients,
    signer: options.signer,
    records: asAsync(records),
    chunkSize: options.chunkSize,
  });
  return { file, result };
}

/** Opens, verifies every chunk, then reads every record: what an importer does. */
export async function readBundleFile(
  file: string,
  key: BundleKeyPair,
  trust: readonly BundlePublicKey[],
): Promise<Uint8Array[]> {
  const opened = await openBundle(file, { key, trust });
  await opened.verifyAll();
  const records: Uint8Array[] = [];
  for await (const record of opened.records()) records.push(record);
  return records;
}

/** Deterministic record contents, so a mismatch names the record. */
export const recordOf = (index: number, size: number): Uint8Array => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (index * 31 + i * 7) & 0xff;
  return bytes;
};

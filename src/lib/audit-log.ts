import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import {
  closeSync,
  existsSync,
  fchmodSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  write,
} from "node:fs";
import { ERRORS } from "./errors.js";
import { writeFileAtomic } from "./files.js";

/**
 * The broker's own audit trail: one JSON line per event, each carrying `prev` (the MAC of the
 * line before) and `mac` (an HMAC-SHA256 of the line without its MAC, keyed by a key kept 0600
 * beside the log). An edited line fails its MAC; a removed or inserted one breaks `prev` and
 * `seq` on the next line. Values are never recorded: callers pass names and versions.
 */
export interface AuditEvent {
  event: string;
  /** Who: "operator", "service:<name>", or the component acting on its own ("scheduler"). */
  identity?: string;
  [field: string]: unknown;
}

export interface AuditRecord extends AuditEvent {
  seq: number;
  time: string;
  prev: string;
  mac: string;
}

export interface AuditLog {
  /** Chains and queues one record; lines reach the file in call order, never interleaved. */
  record(event: AuditEvent): void;
  /** Resolves once every record so far is written. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface AuditFiles {
  file: string;
  keyFile: string;
}

const KEY_BYTES = 32;
const MAC_SUFFIX = /^(\{.*),"mac":"([0-9a-f]{64})"\}$/;

export function openAuditLog(
  files: AuditFiles,
  onError: (error: Error) => void = () => {},
): AuditLog {
  const key = loadOrCreateKey(files.keyFile);
  let { seq, mac: prev } = lastLink(files.file);
  const fd = openSync(files.file, "a", 0o600);
  fchmodSync(fd, 0o600);
  let queued: string[] = [];
  let writing: Promise<void> | undefined;

  const drain = async () => {
    while (queued.length > 0) {
      const chunk = Buffer.from(queued.join(""), "utf8");
      queued = [];
      try {
        await writeAll(fd, chunk);
      } catch (error) {
        onError(error as Error);
      }
    }
    writing = undefined;
  };

  return {
    record(event) {
      seq += 1;
      const body = JSON.stringify({ seq, time: new Date().toISOString(), ...event, prev });
      prev = macOf(key, body);
      queued.push(`${body.slice(0, -1)},"mac":"${prev}"}\n`);
      writing ??= drain();
    },
    async flush() {
      while (writing) await writing;
    },
    async close() {
      while (writing) await writing;
      closeSync(fd);
    },
  };
}

/** Checks the whole chain; throws STRONGROOM_ERR_AUDIT_CHAIN naming the first bad line. */
export function verifyAuditLog(files: AuditFiles): { records: number } {
  if (!existsSync(files.file)) return { records: 0 };
  if (!existsSync(files.keyFile)) {
    throw ERRORS.STRONGROOM_ERR_AUDIT_CHAIN(
      `${files.file}: its key ${files.keyFile} is missing, the chain cannot be checked`,
    );
  }
  const key = readKey(files.keyFile);
  const lines = linesOf(readFileSync(files.file, "utf8"));
  let prev = "";
  lines.forEach((line, index) => {
    const number = index + 1;
    const broken = (why: string) =>
      ERRORS.STRONGROOM_ERR_AUDIT_CHAIN(`${files.file} line ${number}: ${why}`);
    const match = MAC_SUFFIX.exec(line);
    if (!match) throw broken("not an audit record");
    const body = `${match[1]}}`;
    const expected = Buffer.from(macOf(key, body), "hex");
    if (!timingSafeEqual(expected, Buffer.from(match[2]!, "hex"))) {
      throw broken("its MAC does not match: the line was edited");
    }
    const record = JSON.parse(body) as { seq?: unknown; prev?: unknown };
    if (record.prev !== prev || record.seq !== number) {
      throw broken(
        number === 1
          ? "the log does not start at its first record: lines were removed"
          : `it does not follow line ${number - 1}: a line was removed or inserted`,
      );
    }
    prev = match[2]!;
  });
  return { records: lines.length };
}

/** The last `count` records, oldest first (not verified: `verifyAuditLog` does that). */
export function readAuditTail(file: string, count: number): AuditRecord[] {
  if (!existsSync(file) || count <= 0) return [];
  return linesOf(readFileSync(file, "utf8"))
    .slice(-count)
    .map((line) => JSON.parse(line) as AuditRecord);
}

function linesOf(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

function macOf(key: Buffer, body: string): string {
  return createHmac("sha256", key).update(body, "utf8").digest("hex");
}

function readKey(keyFile: string): Buffer {
  const key = Buffer.from(readFileSync(keyFile, "utf8").trim(), "hex");
  if (key.length !== KEY_BYTES) {
    throw ERRORS.STRONGROOM_ERR_AUDIT_CHAIN(`${keyFile} is not an audit key`);
  }
  return key;
}

function loadOrCreateKey(keyFile: string): Buffer {
  if (existsSync(keyFile)) return readKey(keyFile);
  const key = randomBytes(KEY_BYTES);
  writeFileAtomic(keyFile, `${key.toString("hex")}\n`);
  return key;
}

/** The sequence number and MAC the next record chains to, from the file's last line. */
function lastLink(file: string): { seq: number; mac: string } {
  if (!existsSync(file)) return { seq: 0, mac: "" };
  const last = lastLine(file);
  if (last === undefined) return { seq: 0, mac: "" };
  const match = MAC_SUFFIX.exec(last);
  const seq = match ? (JSON.parse(`${match[1]}}`) as { seq?: unknown }).seq : undefined;
  if (!match || typeof seq !== "number") {
    throw ERRORS.STRONGROOM_ERR_AUDIT_CHAIN(
      `${file}: its last line is not an audit record (run strongroom audit verify)`,
    );
  }
  return { seq, mac: match[2]! };
}

const TAIL_BYTES = 64 * 1024;

function lastLine(file: string): string | undefined {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return linesOf(buffer.toString("utf8")).at(-1);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (offset: number) =>
      write(fd, chunk, offset, chunk.length - offset, null, (error, written) => {
        if (error) reject(error);
        else if (offset + written < chunk.length) from(offset + written);
        else resolve();
      });
    from(0);
  });
}

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import {
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  write,
} from "node:fs";
import type { AuditSink } from "./audit-sinks.js";
import { ERRORS } from "./errors.js";
import { writeFileAtomic } from "./files.js";

/**
 * The broker's own audit trail: one JSON line per event, each carrying `prev` (the MAC of the
 * line before) and `mac` (an HMAC-SHA256 of the line without its MAC, keyed by a key kept 0600
 * beside the log). An edited line fails its MAC; a removed or inserted one breaks `prev` and
 * `seq` on the next line. Values are never recorded: callers pass names and versions.
 *
 * A removed tail leaves a shorter chain that is intact, so a sealed checkpoint beside the log
 * (`<log>.checkpoint`: the last sequence number and MAC written, HMAC'd with the same key) is
 * rewritten after every batch of lines reaches the file: `verifyAuditLog` refuses a log that ends
 * before its checkpoint (truncated) or whose record at that number is another one (replaced).
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

/** The sealed checkpoint beside an audit log. */
export const auditCheckpointFile = (file: string): string => `${file}.checkpoint`;

/**
 * Opens (or starts) the log. Each finished line also goes to every sink (stdout, syslog: see
 * audit-sinks.ts), which never hold up or fail the file.
 */
export function openAuditLog(
  files: AuditFiles,
  onError: (error: Error) => void = () => {},
  sinks: readonly AuditSink[] = [],
): AuditLog {
  const key = loadOrCreateKey(files.keyFile);
  let { seq, mac: prev } = lastLink(files.file);
  checkNotTruncated(files, key, seq, prev);
  const fd = openSync(files.file, "a", 0o600);
  fchmodSync(fd, 0o600);
  // Not "a": the checkpoint is rewritten in place, at offset 0.
  const checkpoint = openSync(
    auditCheckpointFile(files.file),
    constants.O_RDWR | constants.O_CREAT,
    0o600,
  );
  fchmodSync(checkpoint, 0o600);
  let queued: string[] = [];
  let writing: Promise<void> | undefined;

  // Runs until the queue is empty; the first run seals a fresh log (or one older than checkpoints).
  const drain = async () => {
    do {
      const chunk = queued.join("");
      const link = { seq, mac: prev };
      queued = [];
      try {
        if (chunk !== "") await writeAll(fd, Buffer.from(chunk, "utf8"));
        await writeAll(checkpoint, sealedCheckpoint(key, link), 0);
      } catch (error) {
        onError(error as Error);
      }
    } while (queued.length > 0);
    writing = undefined;
  };
  writing = drain();

  return {
    record(event) {
      seq += 1;
      const body = JSON.stringify({ seq, time: new Date().toISOString(), ...event, prev });
      prev = macOf(key, body);
      const line = `${body.slice(0, -1)},"mac":"${prev}"}\n`;
      queued.push(line);
      for (const sink of sinks) sink.write(line);
      writing ??= drain();
    },
    async flush() {
      while (writing) await writing;
    },
    async close() {
      while (writing) await writing;
      fsyncSync(fd);
      fsyncSync(checkpoint);
      closeSync(fd);
      closeSync(checkpoint);
      await Promise.all(sinks.map((sink) => sink.close()));
    },
  };
}

/** Checks the whole chain; throws STRONGROOM_ERR_AUDIT_CHAIN naming the first bad line. */
export function verifyAuditLog(files: AuditFiles): { records: number } {
  if (!existsSync(files.file) && !existsSync(auditCheckpointFile(files.file))) {
    return { records: 0 };
  }
  if (!existsSync(files.keyFile)) {
    throw ERRORS.STRONGROOM_ERR_AUDIT_CHAIN(
      `${files.file}: its key ${files.keyFile} is missing, the chain cannot be checked`,
    );
  }
  const key = readKey(files.keyFile);
  const sealed = readCheckpoint(files, key);
  const lines = existsSync(files.file) ? linesOf(readFileSync(files.file, "utf8")) : [];
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
    if (number === sealed.seq && prev !== sealed.mac) throw replaced(files, number);
  });
  if (lines.length < sealed.seq) throw truncated(files, lines.length, sealed.seq);
  return { records: lines.length };
}

interface Link {
  seq: number;
  mac: string;
}

const CHECKPOINT_BYTES = 256;

/** `{seq, head, mac}` padded to a fixed size: rewritten in place, it never leaves a stale tail. */
function sealedCheckpoint(key: Buffer, link: Link): Buffer {
  const body = `{"seq":${link.seq},"head":"${link.mac}"`;
  const text = `${body},"mac":"${macOf(key, `checkpoint${body}}`)}"}`;
  return Buffer.from(`${text.padEnd(CHECKPOINT_BYTES - 1)}\n`, "utf8");
}

/** The checkpoint's link, its MAC checked; a log without one is refused (it was removed). */
function readCheckpoint(files: AuditFiles, key: Buffer): Link {
  const file = auditCheckpointFile(files.file);
  const broken = (why: string) => ERRORS.STRONGROOM_ERR_AUDIT_CHAIN(`${file}: ${why}`);
  if (!existsSync(file)) {
    throw broken("missing: the log cannot be checked for a removed tail or a replaced file");
  }
  const match = /^(\{"seq":(\d+),"head":"((?:[0-9a-f]{64})?)"),"mac":"([0-9a-f]{64})"\}\s*$/.exec(
    readFileSync(file, "utf8"),
  );
  if (!match) throw broken("not an audit checkpoint");
  const expected = Buffer.from(macOf(key, `checkpoint${match[1]}}`), "hex");
  if (!timingSafeEqual(expected, Buffer.from(match[4]!, "hex"))) {
    throw broken("its MAC does not match: the checkpoint was edited");
  }
  return { seq: Number(match[2]), mac: match[3]! };
}

function truncated(files: AuditFiles, last: number, sealed: number, hint = ""): Error {
  const missing = last + 1 === sealed ? `record ${sealed}` : `records ${last + 1} to ${sealed}`;
  return ERRORS.STRONGROOM_ERR_AUDIT_CHAIN(
    `${files.file}: ends at record ${last} but its checkpoint sealed ${sealed}: ${missing} missing (the log was truncated)${hint}`,
  );
}

function replaced(files: AuditFiles, seq: number, hint = ""): Error {
  return ERRORS.STRONGROOM_ERR_AUDIT_CHAIN(
    `${files.file} line ${seq}: not the record its checkpoint sealed: the log was replaced${hint}`,
  );
}

/**
 * Refuses to continue a log that lost its sealed tail or was replaced: continuing would reseal it
 * and hide that. A log older than checkpoints has none yet, and is sealed from now on.
 */
function checkNotTruncated(files: AuditFiles, key: Buffer, seq: number, mac: string): void {
  if (!existsSync(auditCheckpointFile(files.file))) return;
  const sealed = readCheckpoint(files, key);
  const aside = `; keep it as evidence, and move ${files.file} and its .checkpoint aside to start a new log`;
  if (seq < sealed.seq) throw truncated(files, seq, sealed.seq, aside);
  if (seq === sealed.seq && mac !== sealed.mac) throw replaced(files, seq, aside);
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

/** Writes the whole chunk at `position`, or at the end of the file when it is null. */
function writeAll(fd: number, chunk: Buffer, position: number | null = null): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (offset: number) =>
      write(
        fd,
        chunk,
        offset,
        chunk.length - offset,
        position === null ? null : position + offset,
        (error, written) => {
          if (error) reject(error);
          else if (offset + written < chunk.length) from(offset + written);
          else resolve();
        },
      );
    from(0);
  });
}

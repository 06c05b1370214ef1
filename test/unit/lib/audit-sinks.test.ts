/**
 * The audit log's syslog sink against a real UDP listener on loopback (what a collector such as
 * rsyslog's imudp receives), and its stdout-style stream sink.
 */
import { createSocket, type Socket } from "node:dgram";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { openAuditLog, verifyAuditLog } from "../../../src/lib/audit-log.js";
import {
  SYSLOG_MAX_BYTES,
  streamSink,
  syslogMessage,
  syslogSink,
} from "../../../src/lib/audit-sinks.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("strongroom-audit-sinks-");
let listener: Socket | undefined;
afterEach(() => {
  listener?.close();
  listener = undefined;
});

/** A UDP listener on a free loopback port, collecting what it receives. */
async function udpCollector(): Promise<{ port: number; received: string[] }> {
  const socket = createSocket("udp4");
  listener = socket;
  const received: string[] = [];
  socket.on("message", (message) => received.push(message.toString("utf8")));
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { port: socket.address().port, received };
}

const RFC5424 = /^<110>1 (\S+) (\S+) strongroom (\d+) (\S+) - (\{.*\})$/;

describe("audit sinks", () => {
  it("sends each record to syslog as one RFC 5424 message over UDP, the file unchanged", async () => {
    const collector = await udpCollector();
    const dir = tempDir();
    const files = { file: join(dir, "audit.log"), keyFile: join(dir, "audit.key") };
    const errors: Error[] = [];
    const log = openAuditLog(files, undefined, [
      syslogSink({ host: "127.0.0.1", port: collector.port }, (e) => errors.push(e), {
        host: "node-1",
        pid: 4242,
      }),
    ]);
    log.record({ event: "kit-issued", identity: "operator", service: "nova" });
    log.record({ event: "lookup", identity: "service:nova", option: "password" });
    await log.close();
    await expect.poll(() => collector.received.length).toBe(2);
    expect(errors).toEqual([]);
    const parsed = collector.received.map((message) => RFC5424.exec(message));
    expect(parsed.every((m) => m !== null)).toBe(true);
    const [first, second] = parsed as [RegExpExecArray, RegExpExecArray];
    expect(first.slice(2, 5)).toEqual(["node-1", "4242", "kit-issued"]);
    expect(second[4]).toBe("lookup");
    const record = JSON.parse(first[5]!);
    expect(record).toMatchObject({ seq: 1, event: "kit-issued", service: "nova" });
    expect(first[1]).toBe(record.time);
    expect(verifyAuditLog(files)).toEqual({ records: 2 });
  });

  it("sums up a record too big for one datagram: its chain fields and size", () => {
    const line = `${JSON.stringify({ seq: 9, time: "t", event: "seed", names: "x".repeat(20_000), prev: "", mac: "ab" })}\n`;
    const message = syslogMessage(line, { host: "h", pid: 1 }).toString("utf8");
    expect(message.length).toBeLessThanOrEqual(SYSLOG_MAX_BYTES);
    const summary = JSON.parse(RFC5424.exec(message)![5]!);
    expect(summary).toEqual({
      seq: 9,
      time: "t",
      event: "seed",
      mac: "ab",
      truncated: expect.any(Number),
    });
  });

  it("writes each line as is to a stream sink (stdout)", async () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk.toString("utf8")));
    const sink = streamSink(stream, () => {});
    sink.write('{"seq":1}\n');
    sink.write('{"seq":2}\n');
    await sink.close();
    expect(chunks.join("")).toBe('{"seq":1}\n{"seq":2}\n');
  });
});

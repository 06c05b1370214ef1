import type { Socket } from "node:net";
import { Duplex } from "node:stream";

/**
 * Vault clients send the non-standard `LIST` method, which Node's HTTP parser (llhttp) rejects
 * before any JavaScript runs. This rewriter sits between the socket and the HTTP server: it
 * tracks request framing (Content-Length and chunked bodies) and turns `LIST /path` into
 * `GET /path` plus a marker header, which the server reads as a list operation, exactly
 * like Vault's own `GET ?list=true` equivalent.
 */
export const LIST_MARKER_HEADER = "x-strongroom-list-verb";

const MAX_HEAD_BYTES = 64 * 1024;
const CRLF2 = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");
const EMPTY = Buffer.alloc(0);

type State =
  | { kind: "head" }
  | { kind: "body"; remaining: number }
  | { kind: "chunk-size" }
  | { kind: "chunk-data"; remaining: number }
  | { kind: "trailers" }
  | { kind: "passthrough" };

export class ListVerbRewriter {
  private state: State = { kind: "head" };
  private pending: Buffer = EMPTY;

  /** Feeds raw bytes from the client; returns the bytes to hand to the HTTP parser. */
  push(chunk: Buffer): Buffer {
    if (this.state.kind === "passthrough") return chunk;
    let input = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = EMPTY;
    // The common case: one whole request head without a body, passed on untouched.
    if (this.state.kind === "head" && this.wholeHeadWithoutBody(input)) return input;
    const out: Buffer[] = [];
    while (input.length > 0) {
      const consumed = this.step(input, out);
      if (consumed === 0) {
        this.pending = input;
        if (this.pending.length > MAX_HEAD_BYTES) {
          // Let the HTTP parser report the oversized head itself.
          this.state = { kind: "passthrough" };
          out.push(this.pending);
          this.pending = EMPTY;
        }
        break;
      }
      input = input.subarray(consumed);
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** Processes the start of `input`; returns how many bytes it consumed (0 = needs more). */
  private step(input: Buffer, out: Buffer[]): number {
    const state = this.state;
    switch (state.kind) {
      case "passthrough":
        out.push(input);
        return input.length;
      case "head":
        return this.head(input, out);
      case "body":
      case "chunk-data": {
        const take = Math.min(state.remaining, input.length);
        out.push(input.subarray(0, take));
        state.remaining -= take;
        if (state.remaining === 0) {
          this.state = state.kind === "body" ? { kind: "head" } : { kind: "chunk-size" };
        }
        return take;
      }
      case "chunk-size": {
        const end = input.indexOf(CRLF);
        if (end === -1) return 0;
        const size = Number.parseInt(input.subarray(0, end).toString("latin1").split(";")[0]!, 16);
        out.push(input.subarray(0, end + 2));
        if (!Number.isFinite(size) || size < 0) this.state = { kind: "passthrough" };
        else if (size === 0) this.state = { kind: "trailers" };
        else this.state = { kind: "chunk-data", remaining: size + 2 };
        return end + 2;
      }
      case "trailers": {
        const end = input.indexOf(CRLF);
        if (end === -1) return 0;
        out.push(input.subarray(0, end + 2));
        if (end === 0) this.state = { kind: "head" };
        return end + 2;
      }
    }
  }

  /**
   * Whether `input` is exactly one request head that needs no rewriting and announces no body;
   * the state stays "head" for the next request then, as `head()` would leave it.
   */
  private wholeHeadWithoutBody(input: Buffer): boolean {
    const end = input.length - 4;
    if (end < 0 || input.indexOf(CRLF2) !== end) return false;
    if (startsWithList(input) || (input[0] === 0x0d && input[1] === 0x0a)) return false;
    return headFraming(input.toString("latin1", 0, end)) === 0;
  }

  private head(input: Buffer, out: Buffer[]): number {
    // Stray CRLFs between pipelined requests are legal; pass them on untouched.
    let skip = 0;
    while (skip + 1 < input.length && input[skip] === 0x0d && input[skip + 1] === 0x0a) skip += 2;
    if (skip > 0) {
      out.push(input.subarray(0, skip));
      return skip;
    }
    const end = input.indexOf(CRLF2);
    if (end === -1) return 0;
    const head = input.subarray(0, end + 4);
    const text = head.toString("latin1", 0, end);
    const framing = headFraming(text);
    if (framing === "invalid") {
      this.state = { kind: "passthrough" };
      out.push(input);
      return input.length;
    }
    if (startsWithList(head)) {
      const firstLine = text.split("\r\n", 1)[0]!;
      out.push(Buffer.from(`GET ${firstLine.slice(5)}\r\n${LIST_MARKER_HEADER}: 1\r\n`, "latin1"));
      out.push(head.subarray(firstLine.length + 2));
    } else {
      out.push(head);
    }
    if (framing === "chunked") this.state = { kind: "chunk-size" };
    else if (framing > 0) this.state = { kind: "body", remaining: framing };
    return head.length;
  }
}

/** "LIST " at the start of a request head. */
function startsWithList(head: Buffer): boolean {
  return (
    head.length >= 5 &&
    head[0] === 0x4c &&
    head[1] === 0x49 &&
    head[2] === 0x53 &&
    head[3] === 0x54 &&
    head[4] === 0x20
  );
}

/**
 * The body framing a request head (without its final CRLF CRLF) announces. A header name is
 * matched trimmed and lowercased, so a head whose lowercased text contains neither name
 * announces no body, which skips splitting it into lines.
 */
function headFraming(text: string): number | "chunked" | "invalid" {
  const lower = text.toLowerCase();
  if (!lower.includes("content-length") && !lower.includes("transfer-encoding")) return 0;
  return bodyFraming(text.split("\r\n").slice(1));
}

function bodyFraming(headerLines: string[]): number | "chunked" | "invalid" {
  let length = 0;
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "transfer-encoding") {
      return value.toLowerCase().endsWith("chunked") ? "chunked" : "invalid";
    }
    if (name === "content-length") {
      if (!/^\d+$/.test(value)) return "invalid";
      length = Number(value);
    }
  }
  return length;
}

/**
 * Installs a rewriter on the socket itself: every chunk the socket reads passes through it
 * before Node's HTTP server sees it, and responses are written to the socket directly. Returns
 * false, leaving the socket untouched, when that cannot be done (the socket already holds read
 * data); wrap it in a ListVerbSocket then.
 */
export function rewriteListVerbInPlace(socket: Socket): boolean {
  const handle = (socket as unknown as { _handle?: { _consumed?: boolean } | null })._handle;
  if (!handle || socket.readableLength > 0) return false;
  // Node's HTTP server would otherwise hand the socket's reads to its native parser directly
  // (it does so only for a stream it has not seen consumed), bypassing JavaScript and so us.
  handle._consumed = true;
  const rewriter = new ListVerbRewriter();
  const push = socket.push;
  // Node's stream code delivers each read (and the final null) through push().
  socket.push = function (this: Socket, chunk: unknown, encoding?: BufferEncoding): boolean {
    return push.call(this, Buffer.isBuffer(chunk) ? rewriter.push(chunk) : chunk, encoding);
  };
  // After a "Connection: close" answer Node's HTTP server calls destroySoon(), which closes the
  // socket as soon as the answer is written, even while the client is still sending (a body
  // refused as too large): the client then gets a reset, maybe before it read the answer.
  // Half-close instead, as the ListVerbSocket stand-in (which has no destroySoon) does; the
  // socket is destroyed once the client has closed its side too.
  socket.destroySoon = function (this: Socket): void {
    this.end();
  };
  return true;
}

/**
 * A socket stand-in that feeds the rewritten bytes to Node's HTTP server while writes go
 * straight to the real socket.
 */
export class ListVerbSocket extends Duplex {
  private readonly rewriter = new ListVerbRewriter();

  constructor(readonly inner: Socket) {
    super({ allowHalfOpen: false });
    inner.on("data", (chunk: Buffer) => {
      if (!this.push(this.rewriter.push(chunk))) inner.pause();
    });
    inner.on("end", () => this.push(null));
    inner.on("close", () => this.destroy());
    inner.on("error", (error) => this.destroy(error));
    inner.on("timeout", () => this.emit("timeout"));
  }

  get remoteAddress() {
    return this.inner.remoteAddress;
  }
  get remotePort() {
    return this.inner.remotePort;
  }
  get localAddress() {
    return this.inner.localAddress;
  }
  get localPort() {
    return this.inner.localPort;
  }
  get encrypted() {
    return (this.inner as Socket & { encrypted?: boolean }).encrypted;
  }

  setTimeout(ms: number, callback?: () => void): this {
    this.inner.setTimeout(ms);
    if (callback) this.once("timeout", callback);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.inner.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.inner.setKeepAlive(enable, delay);
    return this;
  }
  override _read(): void {
    this.inner.resume();
  }
  override _write(chunk: Buffer, encoding: BufferEncoding, done: (error?: Error | null) => void) {
    this.inner.write(chunk, encoding, done);
  }
  // Node's HTTP server corks the socket around a response; one write per response, not two.
  override _writev(chunks: { chunk: Buffer }[], done: (error?: Error | null) => void) {
    this.inner.write(Buffer.concat(chunks.map((c) => c.chunk)), done);
  }
  override _final(done: (error?: Error | null) => void) {
    this.inner.end(done);
  }
  override _destroy(error: Error | null, done: (error?: Error | null) => void) {
    this.inner.destroy(error ?? undefined);
    done(error);
  }
}

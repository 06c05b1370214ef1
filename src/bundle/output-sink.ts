import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { BundleError } from "./errors.js";

/**
 * Lets the stream's buffer grow past its high-water mark up to this before waiting for 'drain':
 * with a file stream's 16 KiB mark, every 64 KiB chunk would otherwise stall encryption until
 * the disk write returns, so CPU and I/O never overlap. Memory stays bounded all the same.
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * Writes to a stream with backpressure: once the stream's buffer is full (see above), waits for
 * 'drain' (or fails on 'error'/'close'), so a slow disk or client never makes the writer buffer
 * more.
 */
export class OutputSink {
  bytesWritten = 0;
  private failure: unknown = null;
  private readonly recordFailure = (error: unknown) => {
    this.failure ??= error;
  };

  constructor(private readonly out: Writable) {
    out.on("error", this.recordFailure);
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.throwIfFailed();
    if (this.out.destroyed || this.out.writableEnded) throw closedEarly();
    this.bytesWritten += bytes.length;
    const belowMark = this.out.write(bytes);
    // after a write that returned false a 'drain' is sure to come, so waiting cannot hang
    if (!belowMark && this.out.writableLength >= MAX_BUFFERED_BYTES) await this.drained();
  }

  /** Ends the stream and waits until everything is flushed. */
  async end(): Promise<void> {
    this.throwIfFailed();
    this.out.end();
    try {
      await finished(this.out);
    } catch (error) {
      throw writeFailed(error);
    }
  }

  release(): void {
    this.out.off("error", this.recordFailure);
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (error?: unknown) => {
        this.out.off("drain", onDrain);
        this.out.off("error", onError);
        this.out.off("close", onClose);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onDrain = () => settle();
      const onError = (error: unknown) => settle(writeFailed(error));
      const onClose = () => settle(this.failure ? writeFailed(this.failure) : closedEarly());
      this.out.on("drain", onDrain);
      this.out.on("error", onError);
      this.out.on("close", onClose);
    });
  }

  private throwIfFailed(): void {
    if (this.failure) throw writeFailed(this.failure);
  }
}

const writeFailed = (error: unknown) =>
  error instanceof BundleError
    ? error
    : new BundleError(
        "io",
        `cannot write the bundle: ${(error as NodeJS.ErrnoException)?.code ?? "write failed"}`,
      );

const closedEarly = () =>
  new BundleError(
    "io",
    "cannot write the bundle: the output closed before the bundle was complete",
  );

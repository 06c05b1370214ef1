import { type FileHandle, open } from "node:fs/promises";
import { BundleError } from "./errors.js";

const INITIAL_BUFFER_BYTES = 512 * 1024;

/**
 * Sequential reads from a file through one reusable buffer, so reading a bundle of any size
 * holds at most one chunk (or the header) at a time.
 */
export class FileSource {
  private buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
  private start = 0;
  private end = 0;
  private position = 0;
  private eof = false;

  constructor(private readonly handle: FileHandle) {}

  /**
   * The next `n` bytes, or fewer only at the end of the file. The view is valid until the next
   * call: copy what must outlive it.
   */
  async read(n: number): Promise<Uint8Array> {
    if (this.end - this.start < n && !this.eof) await this.fill(n);
    const take = Math.min(n, this.end - this.start);
    const view = this.buffer.subarray(this.start, this.start + take);
    this.start += take;
    return view;
  }

  async atEnd(): Promise<boolean> {
    if (this.end === this.start && !this.eof) await this.fill(1);
    return this.end === this.start;
  }

  private async fill(n: number): Promise<void> {
    const pending = this.end - this.start;
    if (this.buffer.length - this.start < n) {
      // not enough room after the unread bytes: move them to the front, of a larger buffer if need be
      const target = this.buffer.length < n ? Buffer.allocUnsafe(n) : this.buffer;
      this.buffer.copy(target, 0, this.start, this.end);
      this.buffer = target;
      this.start = 0;
      this.end = pending;
    }
    while (this.end - this.start < n) {
      const { bytesRead } = await this.handle.read(
        this.buffer,
        this.end,
        this.buffer.length - this.end,
        this.position,
      );
      if (bytesRead === 0) {
        this.eof = true;
        return;
      }
      this.end += bytesRead;
      this.position += bytesRead;
    }
  }
}

export async function openBundleFile(file: string): Promise<FileHandle> {
  try {
    return await open(file, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new BundleError("io", `${file}: cannot read the bundle (${code})`);
  }
}

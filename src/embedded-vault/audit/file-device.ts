import { closeSync, fchmodSync, lstatSync, openSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";

/** Where one audit device writes its JSON lines. */
export interface AuditSink {
  write(line: string): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_AUDIT_FILE_MODE = 0o600;

/** Vault's `mode` option: octal text; "0000" means "leave the file's permissions alone". */
export function parseAuditFileMode(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return DEFAULT_AUDIT_FILE_MODE;
  if (!/^[0-7]{3,4}$/.test(text)) throw new Error("mode must be an octal permission such as 0600");
  const mode = Number.parseInt(text, 8);
  return mode === 0 ? undefined : mode;
}

/**
 * Why `filePath` may not hold an audit log, or undefined. Only a regular file (or a new one):
 * the device sets the file's mode, and through a device node or a symlink that would change a
 * host file the server may own (it often runs as root: /dev/null at 0600 breaks the machine).
 */
export function auditFileRefusal(filePath: string): string | undefined {
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(filePath);
  } catch {
    return undefined;
  }
  if (stat.isFile()) return undefined;
  return stat.isSymbolicLink()
    ? "is a symbolic link: give the file itself"
    : 'is not a regular file (use "discard" to drop entries, "stdout" to print them)';
}

/** Opens (and creates) the file once, synchronously, so enabling a bad path fails at once. */
export function checkAuditFileWritable(filePath: string, mode: number | undefined): void {
  if (filePath === "stdout" || filePath === "discard") return;
  const refusal = auditFileRefusal(filePath);
  if (refusal) throw new AuditFileRefused(`${JSON.stringify(filePath)} ${refusal}`);
  const fd = openSync(filePath, "a", mode ?? DEFAULT_AUDIT_FILE_MODE);
  try {
    if (mode !== undefined) fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}

export class AuditFileRefused extends Error {}

export function openAuditSink(filePath: string, mode: number | undefined): AuditSink {
  if (filePath === "discard") return { write: async () => {}, close: async () => {} };
  if (filePath === "stdout") return new StdoutSink();
  return new FileSink(filePath, mode);
}

class StdoutSink implements AuditSink {
  write(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      process.stdout.write(line, (error) => (error ? reject(error) : resolve()));
    });
  }

  async close(): Promise<void> {}
}

/** Append-only file; writes are queued so lines never interleave and keep their order. */
class FileSink implements AuditSink {
  private handle: Promise<FileHandle> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly filePath: string,
    private readonly mode: number | undefined,
  ) {}

  write(line: string): Promise<void> {
    const result = this.queue.then(() => this.append(line));
    this.queue = result.catch(() => {});
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle).close();
  }

  private async append(line: string): Promise<void> {
    if (this.closed) throw new Error("audit device is closed");
    try {
      const handle = await this.open();
      await handle.appendFile(line);
    } catch (error) {
      // Reopen on the next write: the file may have been rotated or its disk replaced.
      const stale = this.handle;
      this.handle = undefined;
      stale?.then((h) => h.close()).catch(() => {});
      throw error;
    }
  }

  private open(): Promise<FileHandle> {
    this.handle ??= open(this.filePath, "a", this.mode ?? DEFAULT_AUDIT_FILE_MODE).then(
      async (handle) => {
        // Checked on the open file: the path may have been replaced since it was enabled.
        if (!(await handle.stat()).isFile()) {
          await handle.close();
          throw new AuditFileRefused(`${JSON.stringify(this.filePath)} is not a regular file`);
        }
        if (this.mode !== undefined) await handle.chmod(this.mode);
        return handle;
      },
    );
    return this.handle;
  }
}

/**
 * The body's plaintext is a stream of records, each a u32 BE length and its bytes, cut into
 * fixed-size chunks regardless of record boundaries. Both sides hold at most one chunk (plus,
 * when reading, the one record being assembled).
 */
import { BundleError } from "./errors.js";
import { MAX_RECORD_BYTES, RECORD_LENGTH_BYTES } from "./format.js";

const NO_CHUNKS: readonly Uint8Array[] = Object.freeze([]);

/** Packs records into full chunks; a yielded chunk is reused, so use it before the next step. */
export class RecordChunker {
  private readonly chunk: Uint8Array;
  private filled = 0;
  private readonly lengthPrefix = new Uint8Array(RECORD_LENGTH_BYTES);
  private readonly view: DataView;

  constructor(chunkSize: number) {
    this.chunk = new Uint8Array(chunkSize);
    this.view = new DataView(this.chunk.buffer);
  }

  /** The chunks this record fills up (usually none); iterate it fully, it copies as it goes. */
  add(record: Uint8Array): Iterable<Uint8Array> {
    const framedLength = RECORD_LENGTH_BYTES + record.length;
    if (this.filled + framedLength < this.chunk.length) {
      // the common case, a small record that fits: no generator per record
      this.view.setUint32(this.filled, record.length);
      this.chunk.set(record, this.filled + RECORD_LENGTH_BYTES);
      this.filled += framedLength;
      return NO_CHUNKS;
    }
    return this.addAcrossChunks(record);
  }

  private *addAcrossChunks(record: Uint8Array): Generator<Uint8Array> {
    new DataView(this.lengthPrefix.buffer).setUint32(0, record.length);
    yield* this.copyIn(this.lengthPrefix);
    yield* this.copyIn(record);
  }

  /** What is left for the final chunk: always shorter than a full chunk. */
  remainder(): Uint8Array {
    return this.chunk.subarray(0, this.filled);
  }

  private *copyIn(bytes: Uint8Array): Generator<Uint8Array> {
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(bytes.length - offset, this.chunk.length - this.filled);
      this.chunk.set(bytes.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.chunk.length) {
        this.filled = 0;
        yield this.chunk;
      }
    }
  }
}

/**
 * Rebuilds records from decrypted chunks: load() a chunk, then next() until it returns
 * undefined, then load the following one. A cursor rather than a generator: it runs once per
 * record. A record that lies within one chunk is a view into that chunk's plaintext (fresh for
 * every chunk, never reused) rather than a copy, which costs as much as decrypting it: keeping
 * such a record keeps its chunk (at most chunkSize bytes) alive.
 */
export class RecordAssembler {
  private chunk: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.chunk.buffer);
  private offset = 0;
  private readonly lengthPrefix = new Uint8Array(RECORD_LENGTH_BYTES);
  private lengthFilled = 0;
  private record: Uint8Array | null = null;
  private recordFilled = 0;

  constructor(private readonly where: string) {}

  load(chunk: Uint8Array): void {
    this.chunk = chunk;
    this.view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.offset = 0;
  }

  /** The next complete record in the loaded chunk; undefined once the chunk is used up. */
  next(): Uint8Array | undefined {
    const { chunk } = this;
    while (this.offset < chunk.length) {
      const available = chunk.length - this.offset;
      if (this.record === null && this.lengthFilled === 0 && available >= RECORD_LENGTH_BYTES) {
        const length = this.checkedLength(this.view.getUint32(this.offset));
        const start = this.offset + RECORD_LENGTH_BYTES;
        if (chunk.length - start >= length) {
          this.offset = start + length;
          return chunk.subarray(start, start + length);
        }
        this.offset = start;
        this.startRecord(length);
      } else if (this.record === null) {
        const take = Math.min(RECORD_LENGTH_BYTES - this.lengthFilled, available);
        this.lengthPrefix.set(chunk.subarray(this.offset, this.offset + take), this.lengthFilled);
        this.lengthFilled += take;
        this.offset += take;
        if (this.lengthFilled < RECORD_LENGTH_BYTES) continue;
        this.lengthFilled = 0;
        this.startRecord(this.checkedLength(new DataView(this.lengthPrefix.buffer).getUint32(0)));
      }
      const record = this.record!;
      const take = Math.min(record.length - this.recordFilled, chunk.length - this.offset);
      record.set(chunk.subarray(this.offset, this.offset + take), this.recordFilled);
      this.recordFilled += take;
      this.offset += take;
      if (this.recordFilled === record.length) {
        this.record = null;
        return record;
      }
    }
    return undefined;
  }

  /** At the end of the body no record may be half-read. */
  checkComplete(): void {
    if (this.lengthFilled !== 0 || this.record !== null) {
      throw new BundleError("corrupt", `${this.where}: the last record is cut short`);
    }
  }

  private startRecord(length: number): void {
    this.record = new Uint8Array(length);
    this.recordFilled = 0;
  }

  private checkedLength(length: number): number {
    if (length > MAX_RECORD_BYTES) {
      throw new BundleError("corrupt", `${this.where}: a record is larger than 16 MiB`);
    }
    return length;
  }
}

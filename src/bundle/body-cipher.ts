/**
 * libsodium's crypto_secretstream_xchacha20poly1305 over the body's chunks, each bound to the
 * header hash as additional data, so no chunk can be moved under another header.
 */
import type { sodium as Sodium } from "../lib/sodium.js";
import { BundleError } from "./errors.js";
import { CHUNK_LENGTH_BYTES, CHUNK_OVERHEAD_BYTES } from "./format.js";

type SodiumApi = typeof Sodium;
type StreamState = ReturnType<SodiumApi["crypto_secretstream_xchacha20poly1305_init_pull"]>;

export class BodyEncryptor {
  readonly streamHeader: Uint8Array;
  private readonly state: StreamState;

  constructor(
    private readonly sodium: SodiumApi,
    dataKey: Uint8Array,
    private readonly headerHash: Uint8Array,
  ) {
    const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(dataKey);
    this.state = state;
    this.streamHeader = header;
  }

  /** The chunk as it goes in the file: its u32 BE ciphertext length, then the ciphertext. */
  seal(plain: Uint8Array, final: boolean): Uint8Array {
    const tag = final
      ? this.sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
      : this.sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    const cipher = this.sodium.crypto_secretstream_xchacha20poly1305_push(
      this.state,
      plain,
      this.headerHash,
      tag,
    );
    const framed = Buffer.allocUnsafe(CHUNK_LENGTH_BYTES + cipher.length);
    framed.writeUInt32BE(cipher.length, 0);
    framed.set(cipher, CHUNK_LENGTH_BYTES);
    return framed;
  }
}

export class BodyDecryptor {
  private readonly state: StreamState;

  constructor(
    private readonly sodium: SodiumApi,
    dataKey: Uint8Array,
    streamHeader: Uint8Array,
    private readonly headerHash: Uint8Array,
    private readonly where: string,
  ) {
    this.state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(streamHeader, dataKey);
  }

  /** Decrypts and authenticates chunk number `index` (1-based, for messages). */
  open(cipher: Uint8Array, index: number): { plain: Uint8Array; final: boolean } {
    let result: { message: Uint8Array; tag: number } | false = false;
    if (cipher.length >= CHUNK_OVERHEAD_BYTES) {
      try {
        result = this.sodium.crypto_secretstream_xchacha20poly1305_pull(
          this.state,
          cipher,
          this.headerHash,
        );
      } catch {
        result = false;
      }
    }
    if (result === false) {
      throw new BundleError("corrupt", `${this.where}: chunk ${index} fails authentication`);
    }
    const { TAG_FINAL, TAG_MESSAGE } = tags(this.sodium);
    if (result.tag !== TAG_MESSAGE && result.tag !== TAG_FINAL) {
      throw new BundleError("corrupt", `${this.where}: chunk ${index} has an unexpected tag`);
    }
    return { plain: result.message, final: result.tag === TAG_FINAL };
  }
}

const tags = (sodium: SodiumApi) => ({
  TAG_FINAL: sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL,
  TAG_MESSAGE: sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
});

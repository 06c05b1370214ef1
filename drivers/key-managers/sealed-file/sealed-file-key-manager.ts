/**
 * The `sealed-file` key manager: every deployment's secrets, with all their versions, in one
 * libsodium-sealed file, for air-gapped sites without a Vault. One process owns the file at a
 * time; every change rewrites it atomically, so a crash leaves the previous state.
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { SECRET_NAME_PATTERN } from "../../../src/config/manifest-schema.js";
import { usageError } from "../../../src/lib/errors.js";
import { loadSodium } from "../../../src/lib/sodium.js";
import type { KeyManager, SecretValue, SecretVersionInfo, StoredSecret } from "../../types.js";
import { unixSeconds } from "../vault/castellan-record.js";
import { casMismatchError } from "../vault/kv-v2.js";
import { writeFileAtomic } from "./atomic-file.js";
import {
  type KdfHeader,
  type KeySource,
  keyFor,
  open,
  parseEnvelope,
  seal,
  sealedFileError,
} from "./sealed-file-crypto.js";

interface StoredVersion {
  version: number;
  created: number;
  type: "passphrase" | "opaque";
  value: SecretValue;
}

interface Contents {
  deployments: Record<string, Record<string, StoredVersion[]>>;
}

export type SealedFileOptions = KeySource & {
  file: string;
  deployment: string;
};

async function readEnvelopeText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw sealedFileError(
      `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`,
      err,
    );
  }
}

/** Opens (or, when missing, creates on first write) the sealed file. */
export async function createSealedFileKeyManager(options: SealedFileOptions): Promise<KeyManager> {
  const { file, deployment } = options;
  const text = await readEnvelopeText(file);
  const envelope = text === undefined ? undefined : parseEnvelope(text, file);
  const { key, kdf } = await keyFor(options, envelope?.kdf);
  let contents: Contents = { deployments: {} };
  if (envelope) {
    contents = JSON.parse(Buffer.from(await open(envelope, key)).toString("utf8")) as Contents;
  }
  return new SealedFileKeyManager(file, deployment, key, kdf, contents);
}

/** 32 random bytes in a new 0600 file, for `{ keyFile }`. */
export async function writeSealedFileKey(path: string): Promise<void> {
  await writeFile(path, randomBytes(32), { mode: 0o600, flag: "wx" });
}

class SealedFileKeyManager implements KeyManager {
  readonly driver = "sealed-file";
  /** Changes run one after another: each rewrites the whole file. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly deployment: string,
    private readonly key: Uint8Array,
    private readonly kdf: KdfHeader,
    private contents: Contents,
  ) {}

  private secrets(): Record<string, StoredVersion[]> {
    return this.contents.deployments[this.deployment] ?? {};
  }

  private checkOpen(): void {
    if (this.closed) throw sealedFileError("the sealed-file key manager is closed");
  }

  private check(id: string): void {
    this.checkOpen();
    if (!SECRET_NAME_PATTERN.test(id)) throw usageError(`invalid secret name "${id}"`);
  }

  /** Applies `change` to a copy, persists the copy, and only then makes it current. */
  private mutate<T>(change: (secrets: Record<string, StoredVersion[]>) => T): Promise<T> {
    const run = this.queue.then(async () => {
      const next = structuredClone(this.contents);
      next.deployments[this.deployment] ??= {};
      const result = change(next.deployments[this.deployment]!);
      const plaintext = Buffer.from(JSON.stringify(next), "utf8");
      const envelope = await seal(plaintext, this.key, this.kdf);
      plaintext.fill(0);
      await writeFileAtomic(this.file, `${JSON.stringify(envelope)}\n`);
      this.contents = next;
      return result;
    });
    this.queue = run.catch(() => {});
    return run;
  }

  async get(id: string, version?: number): Promise<StoredSecret | undefined> {
    this.check(id);
    const versions = this.secrets()[id] ?? [];
    const found =
      version === undefined ? versions.at(-1) : versions.find((v) => v.version === version);
    if (!found) return undefined;
    return {
      id,
      value: structuredClone(found.value),
      type: found.type,
      created: found.created,
      version: found.version,
    };
  }

  put(id: string, value: SecretValue, options?: { cas?: number }): Promise<{ version: number }> {
    this.check(id);
    return this.mutate((secrets) => {
      const versions = secrets[id] ?? [];
      const current = versions.at(-1)?.version ?? 0;
      if (options?.cas !== undefined && options.cas !== current) {
        throw casMismatchError(id);
      }
      const version = current + 1;
      const type = typeof value === "string" ? "passphrase" : "opaque";
      secrets[id] = [
        ...versions,
        { version, created: unixSeconds(), type, value: structuredClone(value) },
      ];
      return { version };
    });
  }

  async list(): Promise<string[]> {
    this.checkOpen();
    return Object.keys(this.secrets()).sort();
  }

  async versions(id: string): Promise<SecretVersionInfo[]> {
    this.check(id);
    return (this.secrets()[id] ?? []).map((v) => ({
      version: v.version,
      created: v.created,
      deleted: false,
      destroyed: false,
    }));
  }

  destroy(id: string): Promise<void> {
    this.check(id);
    return this.mutate((secrets) => {
      delete secrets[id];
    });
  }

  async close(): Promise<void> {
    await this.queue;
    this.closed = true;
    (await loadSodium()).memzero(this.key);
    this.contents = { deployments: {} };
  }
}

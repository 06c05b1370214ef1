import { createHash, randomUUID } from "node:crypto";
import { combine, split } from "shamir-secret-sharing";
import { badRequest } from "../errors.js";
import { type Barrier, readPlain, SEAL_CONFIG_PATH, writePlain } from "../storage/barrier.js";
import type { PhysicalStore } from "../storage/physical.js";
import { decodeJSON, encodeJSON } from "../storage/view-helpers.js";

export interface SealConfig {
  secret_shares: number;
  secret_threshold: number;
  /** sha256 (hex) of each share, so a wrong share is refused before it spoils the progress. */
  share_digests: string[];
}

export interface SealStatus {
  type: "shamir";
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
  nonce: string;
}

export interface InitResult {
  /** Each share in hex. */
  keys: string[];
  /** The same shares in base64. */
  keys_base64: string[];
}

const UNSEAL_KEY_BYTES = 32;

/** Shamir unseal flow: splits the unseal key at init, collects shares, unseals the barrier. */
export class SealManager {
  private shares: Uint8Array[] = [];
  private submittedDigests = new Set<string>();
  private nonce = "";
  private busy = false;

  constructor(
    private readonly physical: PhysicalStore,
    private readonly barrier: Barrier,
  ) {}

  isInitialized(): boolean {
    return readPlain(this.physical, SEAL_CONFIG_PATH) !== undefined;
  }

  status(): SealStatus {
    const config = this.config();
    return {
      type: "shamir",
      initialized: config !== undefined,
      sealed: this.barrier.sealed,
      t: config?.secret_threshold ?? 0,
      n: config?.secret_shares ?? 0,
      progress: this.shares.length,
      nonce: this.shares.length === 0 ? "" : this.nonce,
    };
  }

  /** Leaves the barrier unsealed; the caller creates the root token and seals again if it wants. */
  async initialize(request: {
    secret_shares: unknown;
    secret_threshold: unknown;
  }): Promise<InitResult> {
    const shares = integerField(request.secret_shares, "secret_shares");
    const threshold = integerField(request.secret_threshold, "secret_threshold");
    const invalid = sealConfigProblem(shares, threshold);
    if (invalid !== undefined) throw badRequest(`invalid seal configuration: ${invalid}`);
    if (this.busy || this.isInitialized()) throw badRequest("Vault is already initialized");

    this.busy = true;
    let parts: Uint8Array[] = [];
    try {
      this.resetProgress();
      const { unsealKey } = await this.barrier.initialize();
      try {
        // Vault hands out the unseal key itself as the only share: Shamir needs two or more.
        parts = shares === 1 ? [unsealKey.slice()] : await split(unsealKey, shares, threshold);
      } finally {
        wipe(unsealKey);
      }
      const config: SealConfig = {
        secret_shares: shares,
        secret_threshold: threshold,
        share_digests: parts.map(digest),
      };
      // Written last: the seal config is what marks the store as initialized.
      await writePlain(this.physical, SEAL_CONFIG_PATH, encodeJSON(config));
      return {
        keys: parts.map((part) => bufferView(part).toString("hex")),
        keys_base64: parts.map((part) => bufferView(part).toString("base64")),
      };
    } catch (error) {
      this.barrier.seal();
      throw error;
    } finally {
      for (const part of parts) wipe(part);
      this.busy = false;
    }
  }

  /** Adds one share (hex or base64); unseals once `t` distinct valid shares are in. */
  async submitShare(key: string): Promise<SealStatus> {
    const config = this.config();
    if (config === undefined) throw badRequest("Vault is not initialized");
    if (!this.barrier.sealed) return this.status();

    const share = decodeShare(
      key,
      config.secret_shares === 1 ? UNSEAL_KEY_BYTES : UNSEAL_KEY_BYTES + 1,
    );
    const shareDigest = digest(share);
    if (!config.share_digests.includes(shareDigest)) {
      wipe(share);
      throw badRequest("invalid unseal key share");
    }
    if (this.busy || this.submittedDigests.has(shareDigest)) {
      wipe(share);
      return this.status();
    }
    if (this.shares.length === 0) this.nonce = randomUUID();
    this.shares.push(share);
    this.submittedDigests.add(shareDigest);
    if (this.shares.length < config.secret_threshold) return this.status();

    const collected = this.shares;
    this.shares = [];
    this.submittedDigests.clear();
    this.nonce = "";
    this.busy = true;
    let unsealKey: Uint8Array | undefined;
    try {
      unsealKey = collected.length === 1 ? collected[0]!.slice() : await combine(collected);
      this.barrier.unseal(unsealKey);
    } finally {
      if (unsealKey !== undefined) wipe(unsealKey);
      for (const part of collected) wipe(part);
      this.busy = false;
    }
    return this.status();
  }

  resetProgress(): SealStatus {
    for (const share of this.shares) wipe(share);
    this.shares = [];
    this.submittedDigests.clear();
    this.nonce = "";
    return this.status();
  }

  seal(): void {
    this.resetProgress();
    this.barrier.seal();
  }

  private config(): SealConfig | undefined {
    const bytes = readPlain(this.physical, SEAL_CONFIG_PATH);
    return bytes === undefined ? undefined : decodeJSON<SealConfig>(bytes);
  }
}

/** Vault's SealConfig.Validate, in its order. A missing field counts as 0, as in Go. */
function sealConfigProblem(shares: number, threshold: number): string | undefined {
  if (shares < 1) return "shares must be at least one";
  if (threshold < 1) return "threshold must be at least one";
  if (shares > 1 && threshold === 1)
    return "threshold must be greater than one for multiple shares";
  if (shares > 255) return "shares must be less than 256";
  if (threshold > 255) return "threshold must be less than 256";
  if (threshold > shares) return "threshold cannot be larger than shares";
  return undefined;
}

function integerField(value: unknown, name: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  throw badRequest(
    `failed to parse JSON input: json: cannot unmarshal ${describe(value)} into Go struct field InitRequest.${name} of type int`,
  );
}

function describe(value: unknown): string {
  if (typeof value === "number") return `number ${value}`;
  if (Array.isArray(value)) return "array";
  return typeof value === "object" ? "object" : typeof value;
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Hex first, and only when its length fits a share, then base64 (standard or url-safe). */
function decodeShare(key: string, shareBytes: number): Uint8Array {
  const trimmed = key.trim();
  if (trimmed.length === shareBytes * 2 && HEX.test(trimmed)) {
    return copyAndWipe(Buffer.from(trimmed, "hex"));
  }
  if (BASE64.test(trimmed) && trimmed.replace(/=+$/, "").length % 4 !== 1) {
    return copyAndWipe(Buffer.from(trimmed, "base64"));
  }
  throw badRequest("'key' must be a valid hex or base64 string");
}

/** Small Buffers live in Node's shared pool; copy the share out and leave no trace there. */
function copyAndWipe(pooled: Buffer): Uint8Array {
  const share = new Uint8Array(pooled);
  pooled.fill(0);
  return share;
}

function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function wipe(bytes: Uint8Array): void {
  bytes.fill(0);
}

function digest(share: Uint8Array): string {
  return createHash("sha256").update(share).digest("hex");
}

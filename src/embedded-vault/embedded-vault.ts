import { createHash } from "node:crypto";
import { AuditBroker } from "./audit/audit-broker.js";
import { createAppRoleBackend } from "./backends/approle/index.js";
import { createCubbyholeBackend } from "./backends/cubbyhole.js";
import { createKvBackend } from "./backends/kv.js";
import { createSystemBackend } from "./backends/system/index.js";
import { createTokenBackend } from "./backends/token-backend.js";
import { TokenStore } from "./backends/token-store.js";
import { type BackendFactory, VaultCore } from "./core.js";
import { permissionDenied } from "./errors.js";
import {
  AUTH_MOUNTS_KEY,
  defaultMounts,
  newMountEntry,
  readMounts,
  SECRET_MOUNTS_KEY,
  writeMounts,
} from "./mount-table.js";
import { PolicyCache, policyExists } from "./policy-cache.js";
import { SealManager } from "./seal/shamir-seal.js";
import { Barrier } from "./storage/barrier.js";
import { createMemoryStore, openSqliteStore, type PhysicalStore } from "./storage/physical.js";
import { createRawSysHandlers } from "./sys-raw.js";

export type StorageConfig = { type: "inmem" } | { type: "file" | "raft"; path: string };

export interface EmbeddedVaultOptions {
  storage: StorageConfig;
  log?: (message: string) => void;
}

/**
 * The composition root of the embedded Vault-compatible server: storage, barrier, seal,
 * token store, policies, audit and the backends, wired into one request pipeline.
 */
export class EmbeddedVault {
  readonly core: VaultCore;
  private readonly physical: PhysicalStore;
  private readonly barrier: Barrier;
  private readonly sealManager: SealManager;
  private readonly tokens = new TokenStore();
  private readonly policies = new PolicyCache();
  private readonly audit = new AuditBroker();
  private keepUnsealedAfterInit = false;

  private constructor(options: EmbeddedVaultOptions, physical: PhysicalStore) {
    const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
    this.physical = physical;
    this.barrier = new Barrier(physical);
    this.sealManager = new SealManager(physical, this.barrier);
    const tokens = this.tokens;
    const system = createSystemBackend({
      policies: this.policies,
      audit: this.audit,
      capabilities: (tx, token, path) => this.core.capabilities(tx as never, token, path),
      lookupToken: (tx, id) => tokens.lookup(tx, id),
      lookupAccessor: (tx, accessor) => tokens.lookupAccessor(tx, accessor),
      keyStatus: () => ({ term: 1, install_time: new Date(0).toISOString() }),
    });
    this.core = new VaultCore({
      barrier: this.barrier,
      tokens,
      policies: this.policies,
      audit: this.audit,
      log,
      backendFactories: new Map<string, BackendFactory>([
        ["system", () => system],
        ["kv", () => createKvBackend()],
        ["cubbyhole", () => createCubbyholeBackend()],
        [
          "token",
          () =>
            createTokenBackend(tokens, {
              policyExists,
              hasSudo: (req) =>
                req.token !== undefined &&
                this.core.allowed(
                  req.tx as never,
                  req.token,
                  req.mount.path + req.path,
                  req.operation,
                  true,
                ),
            }),
        ],
        ["approle", () => createAppRoleBackend(tokens)],
      ]),
      rawHandlers: createRawSysHandlers({
        status: () => this.sealManager.status(),
        storageType: physical.kind,
        clusterId: () => this.clusterId(),
        initialize: (shares, threshold) => this.initialize(shares, threshold),
        submitShare: async (key) => {
          await this.sealManager.submitShare(key);
          if (!this.barrier.sealed) await this.afterUnseal();
        },
        resetUnseal: () => void this.sealManager.resetProgress(),
        seal: () => this.seal(),
        authorizeSeal: (clientToken) => {
          const token = this.core.authenticate(clientToken);
          const tx = this.barrier.begin();
          if (!this.core.allowed(tx, token, "sys/seal", "update", true)) throw permissionDenied();
        },
        authorize: (clientToken) => void this.core.authenticate(clientToken),
      }),
    });
  }

  static async open(options: EmbeddedVaultOptions): Promise<EmbeddedVault> {
    const physical =
      options.storage.type === "inmem"
        ? createMemoryStore()
        : openSqliteStore(options.storage.path, options.storage.type);
    return new EmbeddedVault(options, physical);
  }

  get storageType(): string {
    return this.physical.kind;
  }

  /** `vault server -dev`: initialize with one share, stay unsealed, mount KV v2 at secret/. */
  async startDev(rootTokenId?: string): Promise<{ rootToken: string; unsealKey: string }> {
    this.keepUnsealedAfterInit = true;
    const result = await this.initialize(1, 1, rootTokenId);
    const tx = this.barrier.begin();
    const mounts = readMounts(tx, SECRET_MOUNTS_KEY);
    mounts.push(
      newMountEntry(
        "secret/",
        "kv",
        { description: "key/value secret storage", options: { version: "2" } },
        "secret",
      ),
    );
    writeMounts(tx, SECRET_MOUNTS_KEY, mounts);
    await tx.commit();
    this.core.loadMounts();
    return { rootToken: result.root_token, unsealKey: result.keys_base64[0]! };
  }

  private async initialize(shares: number, threshold: number, rootTokenId?: string) {
    const shareSet = await this.sealManager.initialize({
      secret_shares: shares,
      secret_threshold: threshold,
    });
    const tx = this.barrier.begin();
    const defaults = defaultMounts();
    writeMounts(tx, SECRET_MOUNTS_KEY, defaults.secrets);
    writeMounts(tx, AUTH_MOUNTS_KEY, defaults.auth);
    const root = this.tokens.createRoot(tx, rootTokenId);
    await tx.commit();
    if (this.keepUnsealedAfterInit) await this.afterUnseal();
    else this.seal();
    return { keys: shareSet.keys, keys_base64: shareSet.keys_base64, root_token: root.id };
  }

  private async afterUnseal(): Promise<void> {
    this.core.loadMounts();
  }

  seal(): void {
    this.sealManager.seal();
    this.tokens.clearCache();
    this.core.clearMounts();
    this.policies.invalidate();
  }

  private clusterId(): string {
    return createHash("sha256").update("strongroom-cluster").digest("hex").slice(0, 32);
  }

  async close(): Promise<void> {
    await this.audit.close();
    await this.physical.close();
  }
}

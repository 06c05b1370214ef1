import { randomUUID } from "node:crypto";
import { ioFailureDetail } from "../lib/io-failure.js";
import type { AuditBroker, AuditDeviceConfig } from "./audit/audit-broker.js";
import type { TokenStore } from "./backends/token-store.js";
import { envelope, errorBody, type HttpAnswer } from "./envelope.js";
import {
  badRequest,
  permissionDenied,
  sealedError,
  unsupportedOperation,
  unsupportedPath,
  VaultError,
} from "./errors.js";
import { AUDIT_TABLE_KEY, AUTH_MOUNTS_KEY, readMounts, SECRET_MOUNTS_KEY } from "./mount-table.js";
import type { PolicyCache } from "./policy-cache.js";
import type { Barrier, Transaction } from "./storage/barrier.js";
import type {
  LogicalBackend,
  LogicalRequest,
  LogicalResponse,
  MountEntry,
  Operation,
  TokenEntry,
} from "./types.js";

/** One HTTP request, already decoded by the HTTP layer. */
export interface CoreRequest {
  method: string;
  list: boolean;
  /** Path after "/v1/", percent-decoded, without a leading slash. */
  path: string;
  query: Record<string, string>;
  data: Record<string, unknown>;
  clientToken?: string;
  remoteAddress: string;
}

export type BackendFactory = (mount: MountEntry) => LogicalBackend;

/** Handlers that answer without the envelope and partly while sealed (sys/init, sys/health, ...). */
export type RawHandler = (request: CoreRequest) => Promise<HttpAnswer>;

export interface CoreDeps {
  barrier: Barrier;
  tokens: TokenStore;
  policies: PolicyCache;
  audit: AuditBroker;
  /** Maps, not objects: a request-controlled key must never reach Object.prototype. */
  backendFactories: ReadonlyMap<string, BackendFactory>;
  rawHandlers: ReadonlyMap<string, RawHandler>;
  log: (message: string) => void;
}

interface RoutedMount {
  mount: MountEntry;
  backend: LogicalBackend;
}

const ROOT_PROTECTED_SYS_PATHS = [
  "sys/audit",
  "sys/audit/",
  "sys/auth/",
  "sys/raw",
  "sys/rotate",
  "sys/remount",
  "sys/leases/revoke-prefix/",
  "sys/revoke-prefix/",
];

/**
 * The request pipeline: seal check → route to the mount → authenticate → existence check →
 * ACL → audit → backend in one storage transaction → wait until durable → audit → answer.
 */
export class VaultCore {
  private routes: RoutedMount[] = [];

  constructor(private readonly deps: CoreDeps) {}

  /** Rebuilds the routing table from the stored mount tables; called after unseal and mount changes. */
  loadMounts(): void {
    const tx = this.deps.barrier.begin();
    const mounts = [...readMounts(tx, SECRET_MOUNTS_KEY), ...readMounts(tx, AUTH_MOUNTS_KEY)];
    const previous = new Map(this.routes.map((r) => [r.mount.uuid, r]));
    this.routes = mounts
      .map((mount) => {
        // Same backend instance, but the stored entry: a tune may have changed its options/config.
        const known = previous.get(mount.uuid);
        return known ? { mount, backend: known.backend } : this.instantiate(mount);
      })
      .filter((route): route is RoutedMount => route !== undefined)
      .sort((a, b) => b.mount.path.length - a.mount.path.length);
    this.deps.policies.invalidate();
    this.deps.audit.load(tx.getJSON<Record<string, AuditDeviceConfig>>(AUDIT_TABLE_KEY) ?? {});
  }

  clearMounts(): void {
    this.routes = [];
  }

  private instantiate(mount: MountEntry): RoutedMount | undefined {
    const factory = this.deps.backendFactories.get(mount.type);
    if (!factory) {
      this.deps.log(`mount ${mount.path} has unknown type ${mount.type}; skipped`);
      return undefined;
    }
    return { mount, backend: factory(mount) };
  }

  async handle(request: CoreRequest): Promise<HttpAnswer> {
    try {
      const raw = this.deps.rawHandlers.get(request.path);
      if (raw) return await raw(request);
      return await this.handleLogical(request);
    } catch (error) {
      return this.errorAnswer(error);
    }
  }

  errorAnswer(error: unknown): HttpAnswer {
    if (error instanceof VaultError) {
      if (error.envelopeData) {
        return { status: error.status, body: envelope({ data: error.envelopeData }) };
      }
      return { status: error.status, body: errorBody(error.errors) };
    }
    // Only the error's type and where it was thrown: a message (a JSON.parse or TypeError on
    // stored or request data) can quote the data itself, which may be a secret.
    // The code and path say a disk is full or read-only (ENOSPC, SQLITE_FULL, EROFS).
    const where = error instanceof Error ? (error.stack?.split("\n")[1]?.trim() ?? "") : "";
    const detail = ioFailureDetail(error);
    this.deps.log(
      `internal error: ${error instanceof Error ? error.name : typeof error}${detail ? ` ${detail}` : ""} ${where}`,
    );
    return { status: 500, body: errorBody(["internal error"]) };
  }

  /** Looks a token up in a fresh read-only transaction (used by raw handlers like sys/seal). */
  authenticate(clientToken: string | undefined): TokenEntry {
    if (this.deps.barrier.sealed) throw sealedError();
    const tx = this.deps.barrier.begin();
    const token = clientToken ? this.deps.tokens.lookup(tx, clientToken) : undefined;
    if (!token) throw permissionDenied();
    return token;
  }

  /** Whether `token` may perform `operation` on `path` (root bypasses ACLs). */
  allowed(
    tx: Transaction,
    token: TokenEntry,
    path: string,
    operation: Operation,
    sudo = false,
  ): boolean {
    if (token.policies.includes("root")) return true;
    return this.deps.policies.aclFor(tx, token.policies).allows(path, operation, sudo);
  }

  capabilities(tx: Transaction, token: TokenEntry, path: string): string[] {
    if (token.policies.includes("root")) return ["root"];
    return this.deps.policies.aclFor(tx, token.policies).capabilities(path);
  }

  private async handleLogical(request: CoreRequest): Promise<HttpAnswer> {
    if (this.deps.barrier.sealed) throw sealedError();
    const route = this.route(request.path);
    if (!route) throw unsupportedPath(request.path);
    const { mount, backend } = route;
    const relativePath = request.path.slice(mount.path.length);
    const tx = this.deps.barrier.begin();

    const unauthenticated = matchesAny(relativePath, backend.unauthenticatedPaths);
    const token = request.clientToken
      ? this.deps.tokens.lookup(tx, request.clientToken)
      : undefined;
    if (!unauthenticated && !token) throw permissionDenied();

    const logical: LogicalRequest = {
      id: randomUUID(),
      operation: "read",
      path: relativePath,
      mount,
      data: request.data,
      query: request.query,
      storage: tx.sub(mount.storagePrefix),
      tx,
      token,
      connection: { remoteAddress: request.remoteAddress },
      now: new Date(),
    };
    logical.operation = resolveOperation(request, () => backend.exists?.(logical) ?? true);

    if (!unauthenticated && token) {
      const fullPath =
        logical.operation === "list" && !request.path.endsWith("/")
          ? `${request.path}/`
          : request.path;
      const sudo = matchesAny(relativePath, backend.sudoPaths) || isRootProtected(request.path);
      if (!this.allowed(tx, token, fullPath, logical.operation, sudo)) throw permissionDenied();
    }

    const auditInfo = {
      id: logical.id,
      operation: logical.operation,
      path: request.path,
      data: request.data,
      clientToken: request.clientToken,
      token,
      remoteAddress: request.remoteAddress,
      mountType: mount.type,
    };
    if (this.deps.audit.hasDevices()) await this.deps.audit.logRequest(auditInfo);
    if (token && !unauthenticated) this.spendUse(tx, token, request.clientToken!);

    let response: LogicalResponse;
    try {
      response = await backend.handle(logical);
      refuseRootLogin(mount, response);
      await tx.commit();
    } catch (error) {
      this.deps.tokens.clearCache();
      if (this.deps.audit.hasDevices()) {
        const answer = this.errorAnswer(error);
        await this.deps.audit.logResponse(auditInfo, {
          status: answer.status,
          errors: (answer.body as { errors?: string[] } | undefined)?.errors,
        });
      }
      throw error;
    }
    if (mount.type === "system" && logical.operation !== "read" && logical.operation !== "list") {
      this.loadMounts();
    }

    const status = response.status ?? (hasBody(response) ? 200 : 204);
    if (this.deps.audit.hasDevices()) {
      await this.deps.audit.logResponse(auditInfo, {
        status,
        data: response.data,
        auth: response.auth,
      });
    }
    if (response.raw !== undefined) return { status, body: response.raw };
    if (status === 204) return { status };
    return {
      status,
      body: envelope(response, {
        requestId: logical.id,
        mountType: mount.type,
        injectSysData: mount.type === "system",
      }),
    };
  }

  /** Limited-use tokens are re-read after any await, so two requests cannot spend the last use. */
  private spendUse(tx: Transaction, token: TokenEntry, clientToken: string): void {
    if (token.num_uses === 0) return;
    const current = this.deps.tokens.lookup(tx, clientToken);
    if (!current) throw permissionDenied();
    this.deps.tokens.use(tx, current);
  }

  private route(path: string): RoutedMount | undefined {
    for (const route of this.routes) {
      if (path.startsWith(route.mount.path) || `${path}/` === route.mount.path) return route;
    }
    return undefined;
  }
}

/**
 * Root tokens come only from init, generate-root or a root parent (auth/token/create); a
 * login that would hand one out is refused as Vault does, before anything is committed.
 */
function refuseRootLogin(mount: MountEntry, response: LogicalResponse): void {
  if (mount.type === "token" || !mount.path.startsWith("auth/")) return;
  if (response.auth?.policies.includes("root")) {
    throw badRequest("auth methods cannot create root tokens");
  }
}

function resolveOperation(request: CoreRequest, exists: () => boolean): Operation {
  if (request.list) return "list";
  switch (request.method) {
    case "GET":
    case "HEAD":
      return "read";
    case "DELETE":
      return "delete";
    case "PATCH":
      return "patch";
    case "POST":
    case "PUT":
      return exists() ? "update" : "create";
    default:
      throw unsupportedOperation();
  }
}

function hasBody(response: LogicalResponse): boolean {
  return (
    response.raw !== undefined ||
    (response.data !== undefined && response.data !== null) ||
    (response.auth !== undefined && response.auth !== null) ||
    (response.warnings !== undefined && response.warnings.length > 0)
  );
}

function matchesAny(path: string, patterns: readonly string[] | undefined): boolean {
  if (!patterns) return false;
  return patterns.some((pattern) =>
    pattern.endsWith("*") ? path.startsWith(pattern.slice(0, -1)) : path === pattern,
  );
}

function isRootProtected(path: string): boolean {
  return ROOT_PROTECTED_SYS_PATHS.some((p) => (p.endsWith("/") ? path.startsWith(p) : path === p));
}

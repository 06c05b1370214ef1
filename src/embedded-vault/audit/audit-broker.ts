import { createHmac, randomBytes } from "node:crypto";
import { badRequest } from "../errors.js";
import type { TokenEntry } from "../types.js";
import {
  AuditFileRefused,
  type AuditSink,
  checkAuditFileWritable,
  openAuditSink,
  parseAuditFileMode,
} from "./file-device.js";

export interface AuditDeviceConfig {
  type: "file";
  description: string;
  options: Record<string, string>;
  /** Hex; per device, new on each enable. */
  salt: string;
}

export interface AuditRequestInfo {
  id: string;
  operation: string;
  path: string;
  data?: Record<string, unknown> | null;
  /** The raw client token, only ever written hashed. */
  clientToken?: string;
  token?: TokenEntry;
  remoteAddress: string;
  mountType?: string;
}

export interface AuditResponseInfo {
  status: number;
  data?: unknown;
  auth?: unknown;
  errors?: string[];
  warnings?: string[];
}

interface Device {
  key: Buffer;
  hmacAccessor: boolean;
  prefix: string;
  sink: AuditSink;
  signature: string;
}

const HASH_PREFIX = "hmac-sha256:";

const normalizePath = (path: string) => (path.endsWith("/") ? path : `${path}/`);

/** Go's `omitempty`: Vault leaves out empty strings, zeros, false, nil and empty collections. */
function omitEmpty(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === null || value === "" || value === 0 || value === false) {
      continue;
    }
    if (Array.isArray(value) && value.length === 0) continue;
    if (typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0) {
      continue;
    }
    out[key] = value;
  }
  return out;
}

function hashStructure(value: unknown, hash: (s: string) => string): unknown {
  if (typeof value === "string") return hash(value);
  if (Array.isArray(value)) return value.map((item) => hashStructure(item, hash));
  if (value instanceof Date) return hash(value.toISOString());
  if (value instanceof Uint8Array) return hash(Buffer.from(value).toString("base64"));
  if (value !== null && typeof value === "object") {
    // No prototype: a request field named "__proto__" must be logged (hashed), not swallowed.
    const out: Record<string, unknown> = Object.create(null);
    for (const [key, item] of Object.entries(value)) out[key] = hashStructure(item, hash);
    return out;
  }
  return value;
}

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

/** Fans every request and response out to the enabled audit devices, HMAC-ing secrets per device. */
export class AuditBroker {
  private devices = new Map<string, Device>();
  private readonly now: () => Date;

  constructor(opts: { now?: () => Date } = {}) {
    this.now = opts.now ?? (() => new Date());
  }

  /** Validates the request to enable a device and gives it a fresh salt. */
  static newDevice(
    type: string,
    description: string,
    options: Record<string, string>,
  ): AuditDeviceConfig {
    if (type !== "file") throw badRequest(`unknown backend type: ${JSON.stringify(type)}`);
    const filePath = options.file_path ?? options.path;
    if (!filePath) throw badRequest("file_path is required");
    if (options.format !== undefined && options.format !== "json") {
      throw badRequest('only the "json" audit format is supported');
    }
    if (options.log_raw !== undefined && options.log_raw.toLowerCase() !== "false") {
      throw badRequest("log_raw is not supported: audit entries are always hashed");
    }
    let mode: number | undefined;
    try {
      mode = parseAuditFileMode(options.mode);
    } catch {
      throw badRequest("mode must be an octal permission such as 0600");
    }
    try {
      checkAuditFileWritable(filePath, mode);
    } catch (error) {
      if (error instanceof AuditFileRefused) throw badRequest(`sys/audit: ${error.message}`);
      throw badRequest(`sys/audit: failed to open audit file ${JSON.stringify(filePath)}`);
    }
    return {
      type: "file",
      description,
      options: { ...options, file_path: filePath },
      salt: randomBytes(32).toString("hex"),
    };
  }

  /** Replaces the device table; devices whose config is unchanged keep their open file. */
  load(devices: Record<string, AuditDeviceConfig>): void {
    const next = new Map<string, Device>();
    for (const [path, config] of Object.entries(devices)) {
      const signature = JSON.stringify([config.type, config.options, config.salt]);
      const existing = this.devices.get(normalizePath(path));
      next.set(
        normalizePath(path),
        existing?.signature === signature ? existing : openDevice(config, signature),
      );
    }
    for (const [path, device] of this.devices) {
      if (next.get(path) !== device) device.sink.close().catch(() => {});
    }
    this.devices = next;
  }

  hasDevices(): boolean {
    return this.devices.size > 0;
  }

  /** sys/audit-hash: what `value` looks like in that device's log. */
  hash(path: string, value: string): string {
    const device = this.devices.get(normalizePath(path));
    if (!device) throw badRequest(`unknown audit backend ${JSON.stringify(path)}`);
    return hmac(device, value);
  }

  logRequest(entry: AuditRequestInfo): Promise<void> {
    return this.broadcast((device) => ({
      time: this.now().toISOString(),
      type: "request",
      ...this.common(device, entry),
    }));
  }

  logResponse(entry: AuditRequestInfo, response: AuditResponseInfo): Promise<void> {
    return this.broadcast((device) => {
      const hash = (value: string) => hmac(device, value);
      const auth = asRecord(response.auth);
      const responseAuth = auth
        ? omitEmpty({
            client_token: typeof auth.client_token === "string" ? hash(auth.client_token) : "",
            accessor: this.hashAccessor(device, auth.accessor),
            display_name: auth.display_name,
            policies: auth.policies,
            token_policies: auth.token_policies,
            metadata: auth.metadata,
            num_uses: auth.num_uses,
            entity_id: auth.entity_id,
            token_type: auth.token_type,
            token_ttl: auth.lease_duration,
          })
        : undefined;
      return {
        time: this.now().toISOString(),
        type: "response",
        ...this.common(device, entry),
        response: omitEmpty({
          mount_type: entry.mountType,
          auth: responseAuth,
          data: response.data === undefined ? undefined : hashStructure(response.data, hash),
          warnings: response.warnings,
        }),
        error: (response.errors ?? []).join("; "),
      };
    });
  }

  async close(): Promise<void> {
    const devices = [...this.devices.values()];
    this.devices = new Map();
    await Promise.allSettled(devices.map((device) => device.sink.close()));
  }

  private common(device: Device, entry: AuditRequestInfo): Record<string, unknown> {
    const hash = (value: string) => hmac(device, value);
    const token = entry.token;
    const clientToken = entry.clientToken ? hash(entry.clientToken) : undefined;
    const accessor = this.hashAccessor(device, token?.accessor);
    const auth = token
      ? omitEmpty({
          client_token: clientToken,
          accessor,
          display_name: token.display_name,
          policies: token.policies,
          token_policies: token.policies,
          metadata: token.meta,
          entity_id: token.entity_id,
          token_type: token.type,
          token_ttl: token.creation_ttl,
          token_issue_time: new Date(token.creation_time * 1000).toISOString(),
        })
      : undefined;
    const request = omitEmpty({
      id: entry.id,
      operation: entry.operation,
      mount_type: entry.mountType,
      client_token: clientToken,
      client_token_accessor: accessor,
      namespace: { id: "root" },
      path: entry.path,
      data: entry.data ? hashStructure(entry.data, hash) : undefined,
      remote_address: entry.remoteAddress,
    });
    return omitEmpty({ auth, request });
  }

  private hashAccessor(device: Device, accessor: unknown): string | undefined {
    if (typeof accessor !== "string" || accessor === "") return undefined;
    return device.hmacAccessor ? hmac(device, accessor) : accessor;
  }

  /** Resolves when at least one device recorded the entry: Vault refuses what it cannot audit. */
  private async broadcast(build: (device: Device) => Record<string, unknown>): Promise<void> {
    const devices = [...this.devices.values()];
    if (devices.length === 0) return;
    const results = await Promise.allSettled(
      devices.map((device) => {
        const entry = build(device);
        if (entry.error === "") delete entry.error;
        return device.sink.write(`${device.prefix}${JSON.stringify(entry)}\n`);
      }),
    );
    const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failure && results.every((r) => r.status === "rejected")) {
      throw new Error("no audit device could record the request", { cause: failure.reason });
    }
  }
}

function hmac(device: Device, value: string): string {
  return HASH_PREFIX + createHmac("sha256", device.key).update(value).digest("hex");
}

function openDevice(config: AuditDeviceConfig, signature: string): Device {
  const filePath = config.options.file_path ?? config.options.path ?? "";
  let mode: number | undefined;
  try {
    mode = parseAuditFileMode(config.options.mode);
  } catch {
    mode = undefined;
  }
  return {
    key: Buffer.from(config.salt, "hex"),
    hmacAccessor: config.options.hmac_accessor?.toLowerCase() !== "false",
    prefix: config.options.prefix ?? "",
    // A device without a usable path fails every write, so requests are refused rather than unaudited.
    sink: filePath
      ? openAuditSink(filePath, mode)
      : {
          write: () => Promise.reject(new Error("audit device has no file_path")),
          close: async () => {},
        },
    signature,
  };
}

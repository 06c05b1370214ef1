import { parseGoBool } from "./go-bool.js";
import { hclToJson } from "./hcl.js";

export interface ListenerConfig {
  address: string;
  tlsDisable: boolean;
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

export interface StorageConfig {
  type: "file" | "raft" | "inmem";
  path?: string;
  /** raft only. */
  nodeId?: string;
}

export interface ServerConfig {
  listener: ListenerConfig;
  storage: StorageConfig;
  apiAddr?: string;
  clusterAddr?: string;
  disableMlock?: boolean;
  ui?: boolean;
}

export class ServerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ServerConfigError";
  }
}

const DEFAULT_ADDRESS = "127.0.0.1:8200";
const IGNORED_KEYS = new Set(["log_level", "cluster_name"]);
const LISTENER_KEYS = new Set(["address", "tls_disable", "tls_cert_file", "tls_key_file"]);
const STORAGE_TYPES = new Set(["file", "raft", "inmem"]);

type Body = Record<string, unknown>;

/** The subset of Vault's server configuration (HCL or JSON) that the embedded server honours. */
export function parseServerConfig(text: string, file: string): ServerConfig {
  const fail: (reason: string) => never = (reason) => {
    throw new ServerConfigError(`${file}: ${reason}`);
  };
  const root = parseHcl(text, fail);

  let listener: ListenerConfig | undefined;
  let storage: StorageConfig | undefined;
  const config: Partial<ServerConfig> = {};
  for (const [key, value] of Object.entries(root)) {
    if (key === "listener") {
      const blocks = labelledBlocks(value, key, fail);
      if (listener || blocks.length !== 1) fail("exactly one listener block is supported");
      const [type, body] = blocks[0] as [string, Body];
      listener = parseListener(type, body, fail);
    } else if (key === "storage" || key === "backend") {
      const blocks = labelledBlocks(value, key, fail);
      if (storage || blocks.length !== 1) fail("exactly one storage block is supported");
      const [type, body] = blocks[0] as [string, Body];
      storage = parseStorage(type, body, fail);
    } else if (key === "api_addr" || key === "cluster_addr") {
      if (typeof value !== "string") return fail(`${key} must be a string`);
      config[key === "api_addr" ? "apiAddr" : "clusterAddr"] = value;
    } else if (key === "disable_mlock" || key === "ui") {
      config[key === "ui" ? "ui" : "disableMlock"] = parseBool(value, key, fail);
    } else if (!IGNORED_KEYS.has(key)) {
      fail(`unknown key "${key}" (not supported by strongroom's embedded server)`);
    }
  }
  if (!storage) return fail(`missing storage block, e.g. storage "file" { path = "..." }`);
  if (!listener) return fail(`missing listener "tcp" block`);
  return { ...config, listener, storage };
}

function parseListener(type: string, body: Body, fail: (reason: string) => never): ListenerConfig {
  if (type !== "tcp") fail(`listener type "${type}" is not supported (only "tcp")`);
  rejectUnknownKeys(body, LISTENER_KEYS, `listener "${type}"`, fail);
  const address = body.address ?? DEFAULT_ADDRESS;
  if (typeof address !== "string" || !isHostPort(address)) {
    return fail(`listener "tcp": address must be "host:port", got ${JSON.stringify(address)}`);
  }
  const listener: ListenerConfig = {
    address,
    tlsDisable:
      body.tls_disable === undefined ? false : parseBool(body.tls_disable, "tls_disable", fail),
  };
  for (const [key, field] of [
    ["tls_cert_file", "tlsCertFile"],
    ["tls_key_file", "tlsKeyFile"],
  ] as const) {
    const value = body[key];
    if (value === undefined) continue;
    if (typeof value !== "string" || value === "") {
      fail(`listener "tcp": ${key} must be a file path`);
    }
    listener[field] = value;
  }
  if (!listener.tlsDisable && (!listener.tlsCertFile || !listener.tlsKeyFile)) {
    fail(`listener "tcp": tls_cert_file and tls_key_file are required unless tls_disable = true`);
  }
  return listener;
}

function parseStorage(type: string, body: Body, fail: (reason: string) => never): StorageConfig {
  if (!STORAGE_TYPES.has(type)) {
    fail(`storage type "${type}" is not supported by strongroom's embedded server`);
  }
  const storage: StorageConfig = { type: type as StorageConfig["type"] };
  if (type === "inmem") {
    rejectUnknownKeys(body, new Set(), `storage "inmem"`, fail);
    return storage;
  }
  if (type === "file") rejectUnknownKeys(body, new Set(["path"]), `storage "file"`, fail);
  if (typeof body.path !== "string" || body.path === "") {
    fail(`storage "${type}": path is required`);
  }
  storage.path = body.path;
  // Other raft keys (retry_join, performance_multiplier, ...) mean nothing to one embedded node.
  if (type === "raft" && body.node_id !== undefined) {
    if (typeof body.node_id !== "string") fail(`storage "raft": node_id must be a string`);
    storage.nodeId = body.node_id;
  }
  return storage;
}

function parseHcl(text: string, fail: (reason: string) => never): Body {
  let json: string;
  try {
    json = hclToJson(text);
  } catch (error) {
    return fail(`syntax error: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (json.startsWith("unable to")) {
    const reason = json.replace(/^unable to [^:]*: /, "");
    const position = /^At (\d+):(\d+): (.*)$/s.exec(reason);
    if (position)
      fail(`syntax error at line ${position[1]}, column ${position[2]}: ${position[3]}`);
    fail(`syntax error: ${reason}`);
  }
  const root: unknown = JSON.parse(json);
  if (!isBody(root)) return fail("not an HCL or JSON object");
  return root;
}

/** `listener "tcp" { ... }` arrives as [{ "tcp": [{ ... }] }]; JSON input may skip either array. */
function labelledBlocks(
  value: unknown,
  key: string,
  fail: (reason: string) => never,
): Array<[string, Body]> {
  const blocks: Array<[string, Body]> = [];
  for (const item of asList(value)) {
    if (!isBody(item)) fail(`${key} must be a block`);
    for (const [label, bodies] of Object.entries(item)) {
      for (const body of asList(bodies)) {
        if (!isBody(body))
          fail(`${key} block needs a type label, e.g. ${key} "${exampleLabel(key)}" { ... }`);
        blocks.push([label, body]);
      }
    }
  }
  return blocks;
}

function exampleLabel(key: string): string {
  return key === "listener" ? "tcp" : "file";
}

function rejectUnknownKeys(
  body: Body,
  known: Set<string>,
  where: string,
  fail: (reason: string) => never,
): void {
  for (const key of Object.keys(body)) if (!known.has(key)) fail(`${where}: unknown key "${key}"`);
}

/** Go's strconv.ParseBool plus the numbers 0 and 1, as Vault's config parser accepts them. */
function parseBool(value: unknown, key: string, fail: (reason: string) => never): boolean {
  if (typeof value === "boolean") return value;
  if (value === 1 || value === 0) return value === 1;
  const parsed = typeof value === "string" ? parseGoBool(value) : undefined;
  if (parsed !== undefined) return parsed;
  return fail(`${key} must be a boolean, got ${JSON.stringify(value)}`);
}

function isHostPort(address: string): boolean {
  const match = /^(.*):(\d{1,5})$/.exec(address);
  return match !== null && Number(match[2]) <= 65535;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function isBody(value: unknown): value is Body {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

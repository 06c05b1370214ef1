/** KV v2 version endpoints: data/, delete/, undelete/, destroy/ and subkeys/. */
import { badRequest, notFound, VaultError } from "../errors.js";
import type { LogicalRequest, LogicalResponse, StorageView } from "../types.js";
import {
  fieldInt,
  fieldIntList,
  fieldMap,
  has,
  isPlainObject,
  type JsonObject,
  mergePatch,
  unrecognizedParamsWarnings,
} from "./kv-fields.js";
import { formatTimestamp } from "./kv-time.js";
import {
  addVersion,
  deleteVersionData,
  isDeleted,
  isGone,
  type KeyMeta,
  type KvConfig,
  loadConfig,
  loadFrozenMeta,
  loadFrozenVersionData,
  loadMeta,
  newMeta,
  saveMeta,
  scheduledDeletion,
  type VersionMeta,
} from "./kv-v2-store.js";

export interface KvContext {
  req: LogicalRequest;
  storage: StorageView;
  key: string;
  /** Epoch nanoseconds of this request. */
  now: bigint;
}

const DATA_FIELDS = ["path", "version", "options", "data"];
const VERSIONS_FIELDS = ["path", "versions"];
const MAX_SUBKEYS_DEPTH = 100;

export function respond(data: JsonObject | undefined, warnings: string[]): LogicalResponse {
  return { ...(data ? { data } : {}), ...(warnings.length > 0 ? { warnings } : {}) };
}

/** Key order follows Go's sorted map encoding. */
function versionMetadata(meta: Readonly<KeyMeta>, version: number, vm: VersionMeta): JsonObject {
  return {
    created_time: vm.created_time,
    custom_metadata: meta.custom_metadata,
    deletion_time: vm.deletion_time,
    destroyed: vm.destroyed,
    version,
  };
}

function queryOrBodyInt(req: LogicalRequest, field: string): number {
  const raw = req.query[field] ?? req.data[field];
  return raw === undefined || raw === null || raw === "" ? 0 : fieldInt(field, raw);
}

/** The live version's data, or a 404 (bare when unknown, with `goneEnvelope` when deleted/destroyed). */
function readLiveVersion(
  ctx: KvContext,
  meta: Readonly<KeyMeta>,
  version: number,
  goneEnvelope: (metadata: JsonObject) => JsonObject,
): { data: JsonObject; metadata: JsonObject } {
  const vm = meta.versions[String(version)];
  if (!vm) throw notFound();
  const metadata = versionMetadata(meta, version, vm);
  if (isGone(vm, ctx.now)) throw new VaultError(404, [], goneEnvelope(metadata));
  // Frozen and maybe shared: every caller only reads the data (patch merges it into a copy).
  const data = loadFrozenVersionData(ctx.storage, ctx.key, version);
  if (!data) throw new Error("kv: version data missing from storage");
  return { data, metadata };
}

/** The hot path: what it loads only goes into the response, so it reads shared frozen values. */
export function readData(ctx: KvContext): LogicalResponse {
  const meta = loadFrozenMeta(ctx.storage, ctx.key);
  if (!meta) throw notFound();
  const version = queryOrBodyInt(ctx.req, "version") || meta.current_version;
  const { data, metadata } = readLiveVersion(ctx, meta, version, (m) => ({
    data: null,
    metadata: m,
  }));
  return { data: { data, metadata } };
}

function checkAndSet(options: JsonObject, config: KvConfig, meta: KeyMeta): void {
  if (Object.hasOwn(options, "cas")) {
    // Vault decodes the option weakly; a null cas decodes to 0.
    let cas: number;
    try {
      cas = options.cas === null ? 0 : fieldInt("cas", options.cas);
    } catch {
      throw badRequest("error parsing check-and-set parameter");
    }
    if (cas !== meta.current_version) {
      throw badRequest("check-and-set parameter did not match the current version");
    }
  } else if (config.cas_required || meta.cas_required) {
    throw badRequest("check-and-set parameter required for this call");
  }
}

const optionsOf = (data: JsonObject) =>
  has(data, "options") ? fieldMap("options", data.options) : {};

function storeVersion(
  ctx: KvContext,
  meta: KeyMeta,
  config: KvConfig,
  data: JsonObject,
  warnings: string[],
) {
  const version = addVersion(ctx.storage, ctx.key, meta, config, data, ctx.now);
  const vm = meta.versions[String(version)] as VersionMeta;
  return respond(versionMetadata(meta, version, vm), warnings);
}

export function writeData(ctx: KvContext): LogicalResponse {
  const body = ctx.req.data;
  const warnings = unrecognizedParamsWarnings(body, DATA_FIELDS);
  if (!has(body, "data")) throw badRequest("no data provided");
  const data = fieldMap("data", body.data);
  const options = optionsOf(body);
  const config = loadConfig(ctx.storage);
  const meta = loadMeta(ctx.storage, ctx.key) ?? newMeta(ctx.now);
  checkAndSet(options, config, meta);
  return storeVersion(ctx, meta, config, data, warnings);
}

/** PATCH data/<p>: RFC 7396 merge of `data` onto the latest version, which must be live. */
export function patchData(ctx: KvContext): LogicalResponse {
  const body = ctx.req.data;
  const warnings = unrecognizedParamsWarnings(body, DATA_FIELDS);
  if (!has(body, "data")) throw badRequest("no data provided");
  const patch = fieldMap("data", body.data);
  const options = optionsOf(body);
  const meta = loadMeta(ctx.storage, ctx.key);
  if (!meta) throw notFound();
  const config = loadConfig(ctx.storage);
  checkAndSet(options, config, meta);
  // Vault's patch 404 carries the version metadata itself as data, unlike a read's.
  const { data } = readLiveVersion(ctx, meta, meta.current_version, (m) => m);
  return storeVersion(ctx, meta, config, mergePatch(data, patch) as JsonObject, warnings);
}

/** DELETE data/<p>: soft-deletes the latest version; a no-op when nothing is live. */
export function softDeleteLatest(ctx: KvContext): LogicalResponse {
  const meta = loadMeta(ctx.storage, ctx.key);
  const vm = meta?.versions[String(meta.current_version)];
  if (!meta || !vm || vm.destroyed || isDeleted(vm, ctx.now)) return {};
  vm.deletion_time = formatTimestamp(ctx.now);
  saveMeta(ctx.storage, ctx.key, meta);
  return {};
}

/** Shared by delete/, undelete/ and destroy/: parses `versions` and loads the key. */
function versionsRequest(ctx: KvContext, missingMessage: string) {
  const warnings = unrecognizedParamsWarnings(ctx.req.data, VERSIONS_FIELDS);
  const versions = fieldIntList("versions", ctx.req.data.versions);
  if (versions.length === 0) throw badRequest(missingMessage);
  return { warnings, versions, meta: loadMeta(ctx.storage, ctx.key) };
}

// Vault's own capitalisation differs between delete/undelete and destroy.
export function deleteVersions(ctx: KvContext): LogicalResponse {
  const { warnings, versions, meta } = versionsRequest(ctx, "No version number provided");
  if (!meta) return respond(undefined, warnings);
  for (const version of versions) {
    const vm = meta.versions[String(version)];
    if (!vm || vm.destroyed || isDeleted(vm, ctx.now)) continue;
    vm.deletion_time = formatTimestamp(ctx.now);
  }
  saveMeta(ctx.storage, ctx.key, meta);
  return respond(undefined, warnings);
}

export function undeleteVersions(ctx: KvContext): LogicalResponse {
  const { warnings, versions, meta } = versionsRequest(ctx, "No version number provided");
  if (!meta) return respond(undefined, warnings);
  const config = loadConfig(ctx.storage);
  for (const version of versions) {
    const vm = meta.versions[String(version)];
    if (!vm || vm.destroyed) continue;
    vm.deletion_time = scheduledDeletion(ctx.now, config, meta);
  }
  saveMeta(ctx.storage, ctx.key, meta);
  return respond(undefined, warnings);
}

export function destroyVersions(ctx: KvContext): LogicalResponse {
  const { warnings, versions, meta } = versionsRequest(ctx, "no version number provided");
  if (!meta) return respond(undefined, warnings);
  for (const version of versions) {
    const vm = meta.versions[String(version)];
    if (vm) vm.destroyed = true;
  }
  saveMeta(ctx.storage, ctx.key, meta);
  for (const version of versions) deleteVersionData(ctx.storage, ctx.key, version);
  return respond(undefined, warnings);
}

/** Leaves (and non-empty maps at `depth`, when non-zero) become null. */
function stripValues(data: JsonObject, depth: number, level = 1): JsonObject {
  const limit = depth > 0 ? Math.min(depth, MAX_SUBKEYS_DEPTH) : MAX_SUBKEYS_DEPTH;
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [
      key,
      isPlainObject(value) && Object.keys(value).length > 0 && level < limit
        ? stripValues(value, depth, level + 1)
        : null,
    ]),
  );
}

export function readSubkeys(ctx: KvContext): LogicalResponse {
  const meta = loadMeta(ctx.storage, ctx.key);
  if (!meta) throw notFound();
  const version = queryOrBodyInt(ctx.req, "version") || meta.current_version;
  const depth = Math.max(0, queryOrBodyInt(ctx.req, "depth"));
  const { data, metadata } = readLiveVersion(ctx, meta, version, (m) => ({
    metadata: m,
    subkeys: null,
  }));
  return { data: { metadata, subkeys: stripValues(data, depth) } };
}

/** KV v2 records in the mount's storage; the layout is described at the top of kv-v2.ts. */
import type { StorageView } from "../types.js";
import type { JsonObject } from "./kv-fields.js";
import { formatTimestamp, parseTimestamp, secondsToNanos } from "./kv-time.js";

export const DEFAULT_MAX_VERSIONS = 10;
/** Engine-level delete_version_after of -1s turns the feature off for every key. */
export const DELETE_VERSION_AFTER_DISABLED = -1;

export interface KvConfig {
  max_versions: number;
  cas_required: boolean;
  /** Seconds; 0 = unset. */
  delete_version_after: number;
}

export interface VersionMeta {
  created_time: string;
  /** "" when not deleted; may lie in the future when set by delete_version_after. */
  deletion_time: string;
  destroyed: boolean;
}

export interface KeyMeta {
  cas_required: boolean;
  created_time: string;
  current_version: number;
  /** Seconds; 0 = use the engine's. */
  delete_version_after: number;
  /** 0 = use the engine's. */
  max_versions: number;
  oldest_version: number;
  updated_time: string;
  custom_metadata: Record<string, string> | null;
  versions: Record<string, VersionMeta>;
}

const CONFIG_KEY = "config";
const metaKey = (key: string) => `meta/${key}`;
/** Unambiguous: version numbers contain no "/", so the last segment is always the version. */
const versionKey = (key: string, version: number) => `versions/${key}/${version}`;
export const metaFolder = (folder: string) => `meta/${folder}`;

export function loadConfig(storage: StorageView): KvConfig {
  return (
    storage.getJSON<KvConfig>(CONFIG_KEY) ?? {
      max_versions: 0,
      cas_required: false,
      delete_version_after: 0,
    }
  );
}

export const saveConfig = (storage: StorageView, config: KvConfig) =>
  storage.putJSON(CONFIG_KEY, config);

export const loadMeta = (storage: StorageView, key: string) =>
  storage.getJSON<KeyMeta>(metaKey(key));

/** Read-only values (getFrozenJSON), for paths that never change what they load. */
const getFrozen = <T>(storage: StorageView, key: string): T | undefined =>
  storage.getFrozenJSON ? storage.getFrozenJSON<T>(key) : storage.getJSON<T>(key);

/** loadMeta for read-only use: the result may be shared and is frozen. */
export const loadFrozenMeta = (storage: StorageView, key: string): Readonly<KeyMeta> | undefined =>
  getFrozen<KeyMeta>(storage, metaKey(key));

/** A version's data, for read-only use: the result may be shared and is frozen. */
export const loadFrozenVersionData = (storage: StorageView, key: string, version: number) =>
  getFrozen<{ data: JsonObject }>(storage, versionKey(key, version))?.data;

export const saveMeta = (storage: StorageView, key: string, meta: KeyMeta) =>
  storage.putJSON(metaKey(key), meta);

export function newMeta(now: bigint): KeyMeta {
  const stamp = formatTimestamp(now);
  return {
    cas_required: false,
    created_time: stamp,
    current_version: 0,
    delete_version_after: 0,
    max_versions: 0,
    oldest_version: 0,
    updated_time: stamp,
    custom_metadata: null,
    versions: {},
  };
}

export const deleteVersionData = (storage: StorageView, key: string, version: number) =>
  storage.delete(versionKey(key, version));

/** Removes the key's metadata and every version it still holds. */
export function deleteKey(storage: StorageView, key: string, meta: KeyMeta): void {
  for (const version of Object.keys(meta.versions))
    deleteVersionData(storage, key, Number(version));
  storage.delete(metaKey(key));
}

/** Deleted (deletion time reached) or destroyed: read as 404 with the metadata. */
export function isGone(version: VersionMeta, now: bigint): boolean {
  return version.destroyed || isDeleted(version, now);
}

export const isDeleted = (version: VersionMeta, now: bigint) =>
  version.deletion_time !== "" && parseTimestamp(version.deletion_time) < now;

/** created + the smaller non-zero of the engine's and the key's delete_version_after, or "". */
export function scheduledDeletion(from: bigint, config: KvConfig, meta: KeyMeta): string {
  if (config.delete_version_after === DELETE_VERSION_AFTER_DISABLED) return "";
  const candidates = [config.delete_version_after, meta.delete_version_after].filter((s) => s > 0);
  if (candidates.length === 0) return "";
  return formatTimestamp(from + secondsToNanos(Math.min(...candidates)));
}

/** The greater of the key's and the engine's max_versions wins, as in Vault (hashicorp/vault#22394). */
export const maxVersionsFor = (meta: KeyMeta, config: KvConfig) =>
  Math.max(meta.max_versions, config.max_versions) || DEFAULT_MAX_VERSIONS;

/** Stores `data` as version current+1, prunes beyond max_versions and saves the metadata. */
export function addVersion(
  storage: StorageView,
  key: string,
  meta: KeyMeta,
  config: KvConfig,
  data: JsonObject,
  now: bigint,
): number {
  const created = formatTimestamp(now);
  const version = meta.current_version + 1;
  storage.putJSON(versionKey(key, version), { data });
  meta.versions[String(version)] = {
    created_time: created,
    deletion_time: scheduledDeletion(now, config, meta),
    destroyed: false,
  };
  meta.current_version = version;
  meta.updated_time = created;

  const keep = maxVersionsFor(meta, config);
  if (version - meta.oldest_version >= keep) {
    const lastToDelete = version - keep;
    for (let old = meta.oldest_version; old <= lastToDelete; old++) {
      delete meta.versions[String(old)];
      deleteVersionData(storage, key, old);
    }
    meta.oldest_version = lastToDelete + 1;
  }
  saveMeta(storage, key, meta);
  return version;
}

/** KV v2 settings endpoints: config and metadata/. */
import { badRequest, notFound } from "../errors.js";
import type { LogicalResponse } from "../types.js";
import {
  fieldBool,
  fieldDurationSeconds,
  fieldInt,
  fieldMap,
  has,
  type JsonObject,
  mergePatch,
  unrecognizedParamsWarnings,
} from "./kv-fields.js";
import { formatDurationSeconds } from "./kv-time.js";
import { type KvContext, respond } from "./kv-v2-data.js";
import {
  DELETE_VERSION_AFTER_DISABLED,
  deleteKey,
  loadConfig,
  loadMeta,
  metaFolder,
  newMeta,
  saveConfig,
  saveMeta,
} from "./kv-v2-store.js";

const CONFIG_FIELDS = ["max_versions", "cas_required", "delete_version_after"];
const METADATA_SETTINGS = [
  "max_versions",
  "cas_required",
  "delete_version_after",
  "custom_metadata",
];
const METADATA_FIELDS = ["path", ...METADATA_SETTINGS];
const CAS_MANDATED_WARNING =
  '"cas_required" set to false, but is mandated by backend config. This value will be ignored.';

function fieldCount(field: string, raw: unknown): number {
  const value = fieldInt(field, raw);
  if (value < 0)
    throw badRequest(`error converting input for field "${field}": cannot provide negative value`);
  return value;
}

export function readConfig(ctx: KvContext): LogicalResponse {
  const config = loadConfig(ctx.storage);
  return {
    data: {
      cas_required: config.cas_required,
      delete_version_after: formatDurationSeconds(config.delete_version_after),
      max_versions: config.max_versions,
    },
  };
}

export function writeConfig(ctx: KvContext): LogicalResponse {
  const body = ctx.req.data;
  const warnings = unrecognizedParamsWarnings(body, CONFIG_FIELDS);
  if (!CONFIG_FIELDS.some((field) => has(body, field))) return respond(undefined, warnings);
  const config = loadConfig(ctx.storage);
  if (has(body, "max_versions"))
    config.max_versions = fieldCount("max_versions", body.max_versions);
  if (has(body, "cas_required")) config.cas_required = fieldBool("cas_required", body.cas_required);
  if (has(body, "delete_version_after")) {
    const seconds = fieldDurationSeconds("delete_version_after", body.delete_version_after, true);
    config.delete_version_after = seconds < 0 ? DELETE_VERSION_AFTER_DISABLED : seconds;
  }
  saveConfig(ctx.storage, config);
  return respond(undefined, warnings);
}

export function readMetadata(ctx: KvContext): LogicalResponse {
  const meta = loadMeta(ctx.storage, ctx.key);
  if (!meta) throw notFound();
  const versions = Object.fromEntries(
    Object.entries(meta.versions).map(([version, vm]) => [
      version,
      { created_time: vm.created_time, deletion_time: vm.deletion_time, destroyed: vm.destroyed },
    ]),
  );
  return {
    data: {
      cas_required: meta.cas_required,
      created_time: meta.created_time,
      current_version: meta.current_version,
      custom_metadata: meta.custom_metadata,
      delete_version_after: formatDurationSeconds(meta.delete_version_after),
      max_versions: meta.max_versions,
      oldest_version: meta.oldest_version,
      updated_time: meta.updated_time,
      versions,
    },
  };
}

export function listMetadata(ctx: KvContext, folder: string): LogicalResponse {
  const keys = ctx.storage.list(metaFolder(folder));
  if (keys.length === 0) throw notFound();
  return { data: { keys } };
}

export function deleteMetadata(ctx: KvContext): LogicalResponse {
  const meta = loadMeta(ctx.storage, ctx.key);
  if (meta) deleteKey(ctx.storage, ctx.key, meta);
  return {};
}

/** POST metadata/<p>: replaces the given settings; creates a version-less entry when missing. */
export function writeMetadata(ctx: KvContext): LogicalResponse {
  const body = ctx.req.data;
  const unrecognized = unrecognizedParamsWarnings(body, METADATA_FIELDS);
  if (!METADATA_SETTINGS.some((field) => has(body, field))) return respond(undefined, unrecognized);
  const custom = has(body, "custom_metadata")
    ? customMetadataInput(body.custom_metadata, false)
    : undefined;
  const warnings = [...casWarning(ctx, body), ...unrecognized];
  const meta = loadMeta(ctx.storage, ctx.key) ?? newMeta(ctx.now);
  if (has(body, "max_versions")) meta.max_versions = fieldCount("max_versions", body.max_versions);
  if (has(body, "cas_required")) meta.cas_required = fieldBool("cas_required", body.cas_required);
  if (has(body, "delete_version_after")) {
    meta.delete_version_after = fieldDurationSeconds(
      "delete_version_after",
      body.delete_version_after,
      false,
    );
  }
  if (custom) meta.custom_metadata = nonEmpty(custom as Record<string, string>);
  saveMeta(ctx.storage, ctx.key, meta);
  return respond(undefined, warnings);
}

/** PATCH metadata/<p>: JSON merge patch of the settings; null resets a setting. */
export function patchMetadata(ctx: KvContext): LogicalResponse {
  const body = ctx.req.data;
  const unrecognized = unrecognizedParamsWarnings(body, METADATA_FIELDS);
  const custom = has(body, "custom_metadata")
    ? customMetadataInput(body.custom_metadata, true)
    : undefined;
  const meta = loadMeta(ctx.storage, ctx.key);
  if (!meta) throw notFound();
  const warnings = [...casWarning(ctx, body), ...unrecognized];
  const given = (field: string) => Object.hasOwn(body, field);
  if (given("max_versions")) {
    meta.max_versions =
      body.max_versions === null ? 0 : fieldCount("max_versions", body.max_versions);
  }
  if (given("cas_required")) {
    meta.cas_required =
      body.cas_required === null ? false : fieldBool("cas_required", body.cas_required);
  }
  if (given("delete_version_after")) {
    meta.delete_version_after =
      body.delete_version_after === null
        ? 0
        : fieldDurationSeconds("delete_version_after", body.delete_version_after, false);
  }
  if (given("custom_metadata")) {
    meta.custom_metadata = custom
      ? nonEmpty(mergePatch(meta.custom_metadata ?? {}, custom) as Record<string, string>)
      : null;
  }
  saveMeta(ctx.storage, ctx.key, meta);
  return respond(undefined, warnings);
}

function casWarning(ctx: KvContext, body: JsonObject): string[] {
  if (!has(body, "cas_required") || fieldBool("cas_required", body.cas_required)) return [];
  return loadConfig(ctx.storage).cas_required ? [CAS_MANDATED_WARNING] : [];
}

const nonEmpty = (map: Record<string, string>) => (Object.keys(map).length > 0 ? map : null);

const CUSTOM_PREFIX = "custom_metadata validation failed";
const MAX_CUSTOM_KEYS = 64;
const MAX_CUSTOM_KEY_BYTES = 128;
const MAX_CUSTOM_VALUE_BYTES = 512;
// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]*$/u;

/** String map as Vault weakly decodes it; for a patch, null values (deletions) are kept. */
function customMetadataInput(raw: unknown, keepNulls: boolean): Record<string, string | null> {
  const entries = Object.entries(fieldMap("custom_metadata", raw)).map(([key, value]) => {
    if (value === null) return [key, keepNulls ? null : ""] as const;
    if (typeof value === "string") return [key, value] as const;
    if (typeof value === "number") return [key, String(value)] as const;
    if (typeof value === "boolean") return [key, value ? "1" : "0"] as const;
    throw badRequest(`${CUSTOM_PREFIX}: value for key ${JSON.stringify(key)} is not a string`);
  });
  const map = Object.fromEntries(entries);
  const problems = customMetadataProblems(
    entries.filter((entry): entry is readonly [string, string] => entry[1] !== null),
  );
  if (problems.length > 0) throw badRequest(multiError(problems));
  return map;
}

function customMetadataProblems(entries: ReadonlyArray<readonly [string, string]>): string[] {
  if (entries.length > MAX_CUSTOM_KEYS) {
    return [
      `${CUSTOM_PREFIX}: payload must contain at most ${MAX_CUSTOM_KEYS} keys, provided ${entries.length}`,
    ];
  }
  const problems: string[] = [];
  for (const [key, value] of entries) {
    const quoted = JSON.stringify(key);
    const keyBytes = Buffer.byteLength(key);
    const valueBytes = Buffer.byteLength(value);
    if (keyBytes === 0 || keyBytes > MAX_CUSTOM_KEY_BYTES) {
      problems.push(
        `${CUSTOM_PREFIX}: length of key ${quoted} is ${keyBytes} but must be 0 < len(key) <= ${MAX_CUSTOM_KEY_BYTES}`,
      );
    }
    if (valueBytes === 0 || valueBytes > MAX_CUSTOM_VALUE_BYTES) {
      problems.push(
        `${CUSTOM_PREFIX}: length of value for key ${quoted} is ${valueBytes} but must be 0 < len(value) <= ${MAX_CUSTOM_VALUE_BYTES}`,
      );
    }
    if (!PRINTABLE.test(key))
      problems.push(`${CUSTOM_PREFIX}: key ${quoted} contains unprintable characters`);
    if (!PRINTABLE.test(value)) {
      problems.push(`${CUSTOM_PREFIX}: value for key ${quoted} contains unprintable characters`);
    }
  }
  return problems;
}

/** hashicorp/go-multierror's text, which Vault returns as the single error string. */
function multiError(problems: string[]): string {
  const count = problems.length === 1 ? "1 error occurred" : `${problems.length} errors occurred`;
  return `${count}:\n\t* ${problems.join("\n\t* ")}\n\n`;
}

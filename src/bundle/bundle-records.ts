/**
 * What a bundle's body carries: one JSON record per item, in this order —
 *   1. `deployment`: its name, KV mount, and each service's policy, role and readable secrets;
 *   2. `manifest`: the manifest text (policies and AppRoles are recreated from it on import);
 *   3. `secret`, one per secret: its KV v2 metadata settings and every version Vault still
 *      keeps, with the stored Castellan record as data (null when deleted or destroyed).
 * The rendered castellan records are derived from the manifest and the secrets: `up` rewrites
 * them, so they are not carried. The signature and encryption around the records belong to
 * the bundle format (docs/bundle-format.md); this file only defines their content.
 */
import { DEPLOYMENT_NAME_PATTERN, SECRET_NAME_PATTERN } from "../config/manifest-schema.js";
import { ERRORS } from "../lib/errors.js";

export interface ServiceIdentityRecord {
  service: string;
  policy: string;
  role: string;
  /** The secrets the service's policy may read, sorted. */
  secrets: string[];
}

export interface DeploymentRecord {
  kind: "deployment";
  deployment: string;
  kvMount: string;
  services: ServiceIdentityRecord[];
}

export interface ManifestRecord {
  kind: "manifest";
  deployment: string;
  /** The manifest's file name at the source, for messages. */
  file: string;
  text: string;
}

export interface SecretVersionRecord {
  version: number;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
  /** The stored Castellan record; null when Vault no longer serves it (deleted, destroyed). */
  data: Record<string, unknown> | null;
}

/** The per-key KV v2 settings that shape how versions are kept. */
export interface SecretSettings {
  max_versions: number;
  cas_required: boolean;
  delete_version_after: string;
  custom_metadata: Record<string, string> | null;
}

export interface SecretRecord {
  kind: "secret";
  name: string;
  current_version: number;
  oldest_version: number;
  settings: SecretSettings;
  /** Ascending by version; only the versions Vault still keeps (older ones were pruned). */
  versions: SecretVersionRecord[];
}

export type BundleRecord = DeploymentRecord | ManifestRecord | SecretRecord;

/** Counts in the signed header: what the importer expects to find. */
export const recordCounts = (secrets: number): Record<string, number> => ({
  records: secrets + 2,
  secrets,
});

export function encodeRecord(record: BundleRecord): Uint8Array {
  return Buffer.from(JSON.stringify(record), "utf8");
}

const invalid = (index: number, reason: string) =>
  ERRORS.STRONGROOM_ERR_BUNDLE_CONTENT(`bundle record ${index + 1}: ${reason}`);

type Checked = Record<string, unknown>;

/** One safe path segment, as bootstrap requires of a KV mount. */
const KV_MOUNT_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function object(value: unknown, index: number, what: string): Checked {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(index, `${what} is not an object`);
  }
  return value as Checked;
}

function text(record: Checked, key: string, index: number): string {
  const value = record[key];
  if (typeof value !== "string") throw invalid(index, `"${key}" is not a string`);
  return value;
}

function count(record: Checked, key: string, index: number): number {
  const value = record[key];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(index, `"${key}" is not a non-negative integer`);
  }
  return value;
}

function named(value: string, pattern: RegExp, index: number, what: string): string {
  if (!pattern.test(value)) throw invalid(index, `invalid ${what} name "${value.slice(0, 100)}"`);
  return value;
}

/**
 * Parses and checks one record. The bundle is authenticated before this runs, but names still
 * become Vault paths, so they are held to the same patterns as the manifest's.
 */
export function decodeRecord(bytes: Uint8Array, index: number): BundleRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw invalid(index, "not JSON");
  }
  const record = object(parsed, index, "the record");
  switch (record["kind"]) {
    case "deployment":
      return decodeDeployment(record, index);
    case "manifest":
      return {
        kind: "manifest",
        deployment: named(
          text(record, "deployment", index),
          DEPLOYMENT_NAME_PATTERN,
          index,
          "deployment",
        ),
        file: text(record, "file", index),
        text: text(record, "text", index),
      };
    case "secret":
      return decodeSecret(record, index);
    default:
      throw invalid(index, "unknown kind");
  }
}

function decodeDeployment(record: Checked, index: number): DeploymentRecord {
  const services = record["services"];
  if (!Array.isArray(services)) throw invalid(index, '"services" is not a list');
  return {
    kind: "deployment",
    deployment: named(
      text(record, "deployment", index),
      DEPLOYMENT_NAME_PATTERN,
      index,
      "deployment",
    ),
    kvMount: named(text(record, "kvMount", index), KV_MOUNT_PATTERN, index, "KV mount"),
    services: services.map((entry) => {
      const service = object(entry, index, "a service");
      const secrets = service["secrets"];
      if (!Array.isArray(secrets) || !secrets.every((s) => typeof s === "string")) {
        throw invalid(index, '"secrets" of a service is not a list of names');
      }
      return {
        service: text(service, "service", index),
        policy: text(service, "policy", index),
        role: text(service, "role", index),
        secrets: secrets as string[],
      };
    }),
  };
}

function decodeSecret(record: Checked, index: number): SecretRecord {
  const versions = record["versions"];
  if (!Array.isArray(versions)) throw invalid(index, '"versions" is not a list');
  const settings = object(record["settings"], index, '"settings"');
  const custom = settings["custom_metadata"];
  const decoded: SecretRecord = {
    kind: "secret",
    name: named(text(record, "name", index), SECRET_NAME_PATTERN, index, "secret"),
    current_version: count(record, "current_version", index),
    oldest_version: count(record, "oldest_version", index),
    settings: {
      max_versions: count(settings, "max_versions", index),
      cas_required: settings["cas_required"] === true,
      delete_version_after: text(settings, "delete_version_after", index),
      custom_metadata:
        custom === null || custom === undefined
          ? null
          : (object(custom, index, '"custom_metadata"') as Record<string, string>),
    },
    versions: versions.map((entry) => decodeVersion(object(entry, index, "a version"), index)),
  };
  let previous = 0;
  for (const { version } of decoded.versions) {
    if (version <= previous || version > decoded.current_version) {
      throw invalid(index, `versions of ${decoded.name} are out of order`);
    }
    previous = version;
  }
  return decoded;
}

function decodeVersion(version: Checked, index: number): SecretVersionRecord {
  const data = version["data"];
  return {
    version: count(version, "version", index),
    created_time: text(version, "created_time", index),
    deletion_time: text(version, "deletion_time", index),
    destroyed: version["destroyed"] === true,
    data: data === null ? null : object(data, index, '"data"'),
  };
}

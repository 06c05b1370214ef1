/**
 * Import: reads a verified bundle's records in order (deployment, manifest, secrets) and writes
 * every secret into Vault so that each version keeps the number it had at the source. Records
 * stream from the reader into a bounded window of writes: memory does not grow with the store.
 */
import { forEachLimit } from "../lib/concurrency.js";
import { ERRORS } from "../lib/errors.js";
import {
  legacyServicePolicyName,
  legacyServiceRoleName,
  secretPath,
  servicePolicyName,
  serviceRoleName,
} from "../vault/kv-layout.js";
import { KvV2 } from "../vault/kv-v2.js";
import type { VaultClient } from "../vault/vault-client.js";
import {
  type DeploymentRecord,
  decodeRecord,
  type ManifestRecord,
  type SecretRecord,
  type ServiceIdentityRecord,
} from "./bundle-records.js";

/** Secrets written at once. */
const WRITE_WINDOW = 64;
/** Stands in for a version the source no longer serves; destroyed right after it is written. */
const TOMBSTONE = {
  strongroom: "version not exported (deleted, destroyed or pruned at the source)",
};

const contentError = (message: string) => ERRORS.STRONGROOM_ERR_BUNDLE_CONTENT(message);

export interface BundleContents {
  deployment: DeploymentRecord;
  manifest: ManifestRecord;
  /** The secret records, read lazily; checks names are unique and the count is `expected`. */
  secrets: AsyncGenerator<SecretRecord>;
}

/** Reads the two leading records; the secrets stay in the stream. */
export async function readContents(
  records: AsyncIterable<Uint8Array>,
  expected: { deployment: string | null; secrets: number },
): Promise<BundleContents> {
  const iterator = records[Symbol.asyncIterator]();
  const next = async (index: number) => {
    const step = await iterator.next();
    if (step.done) throw contentError(`the bundle ends after ${index} records`);
    return decodeRecord(step.value, index);
  };
  const deployment = await next(0);
  const manifest = await next(1);
  if (deployment.kind !== "deployment" || manifest.kind !== "manifest") {
    throw contentError("the bundle does not start with its deployment and manifest records");
  }
  const name = deployment.deployment;
  if (manifest.deployment !== name || (expected.deployment ?? name) !== name) {
    throw contentError("the bundle's header, deployment and manifest name different deployments");
  }
  return { deployment, manifest, secrets: secretsOf(iterator, expected.secrets) };
}

async function* secretsOf(
  iterator: AsyncIterator<Uint8Array>,
  expected: number,
): AsyncGenerator<SecretRecord> {
  const seen = new Set<string>();
  try {
    for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
      const record = decodeRecord(step.value, seen.size + 2);
      if (record.kind !== "secret") throw contentError(`record ${seen.size + 3} is not a secret`);
      if (seen.has(record.name)) throw contentError(`secret ${record.name} appears twice`);
      seen.add(record.name);
      yield record;
    }
  } finally {
    await iterator.return?.();
  }
  if (seen.size !== expected) {
    throw contentError(`the bundle holds ${seen.size} secrets, its header says ${expected}`);
  }
}

/**
 * A bundle exported before role and policy names had a separator spells its identities the old
 * way: the same identities, under the names this version gives them.
 */
export function withCurrentNames(
  deployment: string,
  record: ServiceIdentityRecord,
): ServiceIdentityRecord {
  const { service } = record;
  const legacy =
    record.policy === legacyServicePolicyName(deployment, service) &&
    record.role === legacyServiceRoleName(deployment, service);
  if (!legacy) return record;
  return {
    ...record,
    policy: servicePolicyName(deployment, service),
    role: serviceRoleName(deployment, service),
  };
}

/** The service identities the manifest produces must be the ones the source exported. */
export function checkIdentities(
  exported: readonly ServiceIdentityRecord[],
  recreated: readonly ServiceIdentityRecord[],
): void {
  const key = (s: ServiceIdentityRecord) =>
    `${s.service}|${s.policy}|${s.role}|${[...s.secrets].sort().join(",")}`;
  const wanted = new Set(exported.map(key));
  const made = recreated.map(key);
  const differs = made.length !== wanted.size || made.some((k) => !wanted.has(k));
  if (differs) {
    throw contentError("the bundle's manifest does not recreate the exported service identities");
  }
}

export interface ImportTarget {
  /** A client with the operator token. */
  client: VaultClient;
  kvMount: string;
  deployment: string;
}

export interface LoadProgress {
  secrets: number;
  versions: number;
}

/** Writes every secret with at most WRITE_WINDOW in flight; stops at the first failure. */
export async function loadSecrets(
  target: ImportTarget,
  secrets: AsyncIterable<SecretRecord>,
  onProgress?: (progress: LoadProgress) => void,
): Promise<LoadProgress> {
  const done: LoadProgress = { secrets: 0, versions: 0 };
  await forEachLimit(secrets, WRITE_WINDOW, async (secret) => {
    await writeSecret(target, secret);
    done.secrets++;
    done.versions += secret.versions.filter((v) => v.data !== null).length;
    onProgress?.(done);
  });
  return done;
}

/**
 * KV v2 numbers versions 1, 2, 3… in write order, so every number up to the current one is
 * written in turn (check-and-set makes each land on its number). A version the source no longer
 * serves gets a tombstone that is destroyed at once (and deleted first when it was deleted), so
 * nothing that was gone at the source can be read or undeleted here.
 */
export async function writeSecret(target: ImportTarget, secret: SecretRecord): Promise<void> {
  const path = secretPath(target.deployment, secret.name);
  const kv = new KvV2(target.client, target.kvMount);
  // Settings first: max_versions prunes old versions here as it did at the source.
  if (hasSettings(secret)) {
    const { custom_metadata, ...settings } = secret.settings;
    await kv.writeMetadata(path, { ...settings, ...(custom_metadata && { custom_metadata }) });
  }
  const byNumber = new Map(secret.versions.map((v) => [v.version, v]));
  for (let version = 1; version <= secret.current_version; version++) {
    const kept = byNumber.get(version);
    const written = await kv.write(path, kept?.data ?? TOMBSTONE, version - 1);
    if (written !== version) {
      throw ERRORS.STRONGROOM_ERR_IMPORT_VERSION(
        `${path}: Vault numbered version ${version} as ${written}`,
      );
    }
    if (kept?.data) continue;
    if (kept?.deletion_time) await kv.deleteVersions(path, [version]);
    await kv.destroyVersions(path, [version]);
  }
}

function hasSettings({ settings }: SecretRecord): boolean {
  return (
    settings.max_versions !== 0 ||
    settings.cas_required ||
    !/^0[a-z]*$/.test(settings.delete_version_after) ||
    Object.keys(settings.custom_metadata ?? {}).length > 0
  );
}

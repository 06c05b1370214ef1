/**
 * Export: reads one deployment out of Vault as bundle records (bundle-records.ts) and streams
 * them through the bundle writer. Secrets are listed once (names only), then read a bounded
 * window at a time, every version Vault still keeps, so memory does not grow with the store.
 */
import { basename } from "node:path";
import type { Writable } from "node:stream";
import { ManifestError, parseManifest, secretsReferencedBy } from "../config/manifest.js";
import { DEPLOYMENT_NAME_PATTERN } from "../config/manifest-schema.js";
import { mapOrdered } from "../lib/concurrency.js";
import { ERRORS, usageError } from "../lib/errors.js";
import { STATE_FILES, type StateDir } from "../state/state-dir.js";
import {
  DEPLOYMENT_KEYS,
  deploymentPath,
  secretPath,
  servicePolicyName,
  serviceRoleName,
} from "../vault/kv-layout.js";
import { type KvMetadata, KvV2 } from "../vault/kv-v2.js";
import type { VaultClient } from "../vault/vault-client.js";
import {
  type DeploymentRecord,
  encodeRecord,
  type ManifestRecord,
  recordCounts,
  type SecretRecord,
  type SecretVersionRecord,
} from "./bundle-records.js";
import type { NextSequence } from "./export-sequence.js";
import {
  type BundleKeyPair,
  type BundlePublicKey,
  encodeKeyPair,
  encodePublicKey,
  fingerprint,
  generateBundleKeyPair,
  parseKeyPair,
  parsePublicKey,
} from "./keys.js";
import { writeBundle } from "./writer.js";

/** Secrets read at once: enough to hide Vault's latency, few enough to bound memory. */
const READ_WINDOW = 32;
export const MAX_RECIPIENTS = 256;

export interface ExportRequest {
  /** Encoded public keys (the text of `.pub` files). */
  recipients: readonly string[];
  /** Default: the broker's own deployment. */
  deployment?: string;
}

export interface ExportSummary {
  deployment: string;
  createdAt: string;
  sequence: number;
  counts: Record<string, number>;
  records: number;
  bytes: number;
  recipients: string[];
  signer: string;
  headerHash: string;
}

export interface PreparedExport {
  readonly deployment: string;
  /** Streams the bundle into `out` (honouring backpressure); resolves once it is all written. */
  writeTo(out: Writable): Promise<ExportSummary>;
}

export interface BundleExporter {
  /** Checks the request and reads what the header needs; a failure here has sent nothing yet. */
  prepare(request: ExportRequest): Promise<PreparedExport>;
}

export interface BundleExporterOptions {
  /** A client with the operator token. */
  client: VaultClient;
  kvMount: string;
  /** The broker's own deployment: exported when the request names none. */
  deployment: string;
  signer: BundleKeyPair;
  /** Draws the header's sequence number (export-sequence.ts). */
  nextSequence: NextSequence;
}

export function createBundleExporter(options: BundleExporterOptions): BundleExporter {
  const { client, kvMount, signer } = options;
  return {
    async prepare(request) {
      const recipients = parseRecipients(request.recipients);
      const deployment = checkDeployment(request.deployment ?? options.deployment);
      const plan = await planExport(client, kvMount, deployment);
      // Drawn (and stored) here: a counter that cannot advance fails the request before any byte.
      const sequence = await options.nextSequence();
      return {
        deployment,
        async writeTo(out) {
          const createdAt = new Date().toISOString();
          const counts = recordCounts(plan.names.length);
          const written = await writeBundle({
            out,
            header: { deployment, createdAt, sequence, counts },
            recipients,
            signer,
            records: exportRecords(client, kvMount, plan),
          });
          return {
            deployment,
            createdAt,
            sequence,
            counts,
            records: written.records,
            bytes: written.bundleBytes,
            recipients: written.recipients,
            signer: fingerprint(signer),
            headerHash: written.headerHash,
          };
        },
      };
    },
  };
}

/** The broker's signing identity in the state dir, created on first use (both files 0600). */
export async function ensureBrokerSigner(dir: StateDir): Promise<BundleKeyPair> {
  const secretFile = STATE_FILES.bundleSecretKey;
  if (dir.has(secretFile)) {
    const pair = parseKeyPair(dir.readText(secretFile), dir.file(secretFile));
    if (!dir.has(STATE_FILES.bundlePublicKey)) {
      dir.write(STATE_FILES.bundlePublicKey, encodePublicKey(pair));
    }
    return pair;
  }
  const pair = await generateBundleKeyPair();
  // The secret key first: a crash in between leaves a pair the next run completes.
  dir.write(secretFile, encodeKeyPair(pair));
  dir.write(STATE_FILES.bundlePublicKey, encodePublicKey(pair));
  return pair;
}

function parseRecipients(encoded: readonly string[]): BundlePublicKey[] {
  if (encoded.length === 0) throw usageError("name at least one recipient");
  if (encoded.length > MAX_RECIPIENTS) {
    throw usageError(`at most ${MAX_RECIPIENTS} recipients`);
  }
  // Duplicates are left to the writer, which seals to each fingerprint once.
  return encoded.map((text, index) => parsePublicKey(text, `recipient ${index + 1}`));
}

function checkDeployment(deployment: string): string {
  if (!DEPLOYMENT_NAME_PATTERN.test(deployment)) {
    throw usageError(`invalid deployment name "${deployment.slice(0, 100)}"`);
  }
  return deployment;
}

export interface ExportPlan {
  deployment: DeploymentRecord;
  manifest: ManifestRecord;
  /** Sorted secret names: a list of names is small next to the values. */
  names: string[];
}

/** Reads the stored manifest and the secret names; nothing is streamed yet. */
export async function planExport(
  client: VaultClient,
  kvMount: string,
  deployment: string,
): Promise<ExportPlan> {
  const kv = new KvV2(client, kvMount);
  const stored = (await kv.read(deploymentPath(deployment, DEPLOYMENT_KEYS.manifest)))?.data;
  const yaml = stored?.["yaml"];
  if (typeof yaml !== "string") {
    throw ERRORS.STRONGROOM_ERR_UNKNOWN_DEPLOYMENT(
      `no deployment "${deployment}" in this broker's Vault`,
    );
  }
  const file = basename(typeof stored?.["file"] === "string" ? stored["file"] : "manifest.yaml");
  const manifest = parseStoredManifest(yaml, file, deployment);
  const secrets = deploymentPath(deployment, DEPLOYMENT_KEYS.secretsFolder);
  const names = (await kv.list(`${secrets}/`)).filter((k) => !k.endsWith("/")).sort();
  return {
    deployment: {
      kind: "deployment",
      deployment,
      kvMount,
      services: [...manifest.services.keys()].sort().map((service) => ({
        service,
        policy: servicePolicyName(deployment, service),
        role: serviceRoleName(deployment, service),
        secrets: secretsReferencedBy(manifest, service),
      })),
    },
    manifest: { kind: "manifest", deployment, file, text: yaml },
    names,
  };
}

function parseStoredManifest(yaml: string, file: string, deployment: string) {
  try {
    const manifest = parseManifest(yaml, file);
    if (manifest.deployment.name === deployment) return manifest;
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
  }
  throw ERRORS.STRONGROOM_ERR_BUNDLE_CONTENT(
    `the manifest stored for deployment "${deployment}" is not valid for it`,
  );
}

/** The records of one deployment, in bundle order, encoded. */
export async function* exportRecords(
  client: VaultClient,
  kvMount: string,
  plan: ExportPlan,
): AsyncGenerator<Uint8Array> {
  yield encodeRecord(plan.deployment);
  yield encodeRecord(plan.manifest);
  const kv = new KvV2(client, kvMount);
  const { deployment } = plan.deployment;
  for await (const secret of mapOrdered(plan.names, READ_WINDOW, (name) =>
    readSecret(kv, secretPath(deployment, name), name),
  )) {
    yield encodeRecord(secret);
  }
}

/** KV v2 metadata as Vault answers it (the fields the export keeps). */
interface SecretMetadata extends KvMetadata {
  oldest_version: number;
  max_versions: number;
  cas_required: boolean;
  delete_version_after: string;
  custom_metadata: Record<string, string> | null;
}

async function readSecret(kv: KvV2, path: string, name: string): Promise<SecretRecord> {
  const metadata = (await kv.metadata(path)) as SecretMetadata | undefined;
  if (!metadata) {
    throw ERRORS.STRONGROOM_ERR_EXPORT_CHANGED(
      `secret ${name} was removed during the export: export again`,
    );
  }
  const versions: SecretVersionRecord[] = [];
  const numbers = Object.keys(metadata.versions)
    .map(Number)
    .sort((a, b) => a - b);
  // One secret's versions one after another: the window is over secrets.
  for (const version of numbers) {
    const info = metadata.versions[String(version)]!;
    const gone = info.destroyed || isPast(info.deletion_time);
    // A version deleted since the metadata was read answers 404: it is exported as deleted.
    const data = gone ? null : ((await kv.read(path, version))?.data ?? null);
    versions.push({
      version,
      created_time: info.created_time,
      deletion_time: info.deletion_time,
      destroyed: info.destroyed,
      data,
    });
  }
  return {
    kind: "secret",
    name,
    current_version: metadata.current_version,
    oldest_version: metadata.oldest_version ?? numbers[0] ?? 0,
    settings: {
      max_versions: metadata.max_versions ?? 0,
      cas_required: metadata.cas_required === true,
      delete_version_after: metadata.delete_version_after ?? "0s",
      custom_metadata: metadata.custom_metadata ?? null,
    },
    versions,
  };
}

const isPast = (time: string) => time !== "" && Date.parse(time) <= Date.now();

/**
 * The broker: lookups through the configured sources, the files oslo.config and castellan
 * consume natively, secrets metadata, writes and seeding. Every write invalidates the lookup
 * cache and re-renders the castellan records of the options that depend on it.
 */

import type { ConfigSource, KeyManager, SecretValue } from "../../drivers/types.js";
import { consumersOf, type Manifest } from "../config/manifest.js";
import { SECRET_NAME_PATTERN } from "../config/manifest-schema.js";
import { manifestOptions } from "../config/option-templates.js";
import { renderCastellanConfig, renderCastellanMapping, renderOsloIni } from "../config/render.js";
import { mapLimit } from "../lib/concurrency.js";
import { ERRORS, usageError } from "../lib/errors.js";
import type { FetchLog, FetchRecord } from "../lib/fetch-log.js";
import type { MirrorResult, SecretMirror } from "../vault/kolla-mirror.js";
import { renderedPath } from "../vault/kv-layout.js";
import type { RecordStore } from "../vault/record-store.js";
import type { BrokerService, Fetcher, SecretMetadata, SeedRecovery } from "./broker-service.js";
import { checkDeliverable } from "./deliverability.js";
import {
  castellanMappedOptions,
  type RenderedMemo,
  type SyncResult,
  syncRenderedRecords,
} from "./rendered-records.js";
import {
  createResolver,
  type OptionResolver,
  type ResolvedEntry,
  unknownOption,
} from "./resolver.js";
import { createSeedJournal } from "./seed-journal.js";
import { recoverSeed, type SeedDeps, seedSecrets } from "./seed-secrets.js";
import { renderServiceFiles } from "./service-files.js";

export interface BrokerServiceOptions {
  manifest: Manifest;
  keyManager: KeyManager;
  /** In resolution order (environment, INI overrides, castellan); the default comes last. */
  sources: readonly ConfigSource[];
  /** The Vault address services' castellan uses. */
  vaultUrl: string;
  /** The CA bundle path on service nodes, written into castellan.conf for https. */
  caFile?: string;
  kvMount: string;
  /** Where the rendered castellan records go; without it none are written. */
  records?: RecordStore;
  /** Where fetches by service identities are recorded (rotations wait on it). */
  fetches?: FetchLog;
  /** Called after each secret a seed wrote (a test composition crashes here). */
  afterSeedWrite?: (written: number) => void;
  /** Told the secrets each write changed, once written (serve publishes them to the replicas). */
  onWritten?: (names: readonly string[]) => void;
  /** A second copy of every write (kolla's Vault layout); without it none is kept. */
  mirror?: SecretMirror;
  /** A write whose copy failed: the write stands, the copy is tried again at the next one. */
  onMirrorFailure?: (error: unknown) => void;
  /** Called after every seed that is not a dry run (delivers the values to the sinks); a
   * failure fails the seed request, and seeding again retries it. */
  afterSeed?: () => Promise<void>;
}

export interface StrongroomBroker extends BrokerService {
  readonly resolver: OptionResolver;
  /** The castellan secret id of an option's rendered record. */
  castellanId(service: string, group: string, option: string): string;
  /** Re-renders the castellan records (of options using `secretNames`, or all). */
  syncRendered(secretNames?: Iterable<string>): Promise<SyncResult>;
  /** Drops what this broker cached about the secrets (all when omitted): written elsewhere. */
  forget(secretNames?: readonly string[]): void;
  /** Brings the mirror's copy of every secret of the manifest and the store in line (`up`). */
  syncMirror(): Promise<MirrorResult | undefined>;
  /** Undoes a seed that did not finish (the broker was killed); `up` calls it before serving. */
  recoverSeed(): Promise<SeedRecovery | undefined>;
  /** A rotation's commit: writes `value` only if `expectedVersion` is still the current one. */
  commitSecret(
    name: string,
    value: SecretValue,
    expectedVersion: number,
  ): Promise<{ version: number }>;
}

const READ_CONCURRENCY = 32;

export function createBrokerService(options: BrokerServiceOptions): StrongroomBroker {
  const { manifest, keyManager, records } = options;
  const deployment = manifest.deployment.name;
  const resolver = createResolver({ manifest, keyManager, sources: options.sources });
  let writes: Promise<unknown> = Promise.resolve();
  const renderedMemo: RenderedMemo = new Map();

  /** Writes run one at a time, so rendered records follow the writes in order. */
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const run = writes.then(work);
    writes = run.catch(() => {});
    return run;
  };

  const unknownService = (service: string) =>
    ERRORS.STRONGROOM_ERR_UNKNOWN_SERVICE(`no service "${service}" in the manifest`);

  const requireService = (service: string) => {
    const spec = manifest.services.get(service);
    if (!spec) throw unknownService(service);
    return spec;
  };

  const syncRendered = async (secretNames?: Iterable<string>): Promise<SyncResult> => {
    if (!records) return { written: 0, removed: 0 };
    return syncRenderedRecords({
      manifest,
      resolver,
      records,
      memo: renderedMemo,
      ...(secretNames !== undefined && { secretNames: new Set(secretNames) }),
    });
  };

  const currentValue = async (name: string) => (await keyManager.get(name))?.value;
  /** The copy follows each write; its failure does not undo a write that landed. */
  const mirrorWrites = async (names: readonly string[]) => {
    if (!options.mirror || names.length === 0) return;
    await options.mirror.sync(names, currentValue).catch((error: unknown) => {
      if (!options.onMirrorFailure) throw error;
      options.onMirrorFailure(error);
    });
  };

  const afterWrite = async (names: readonly string[]) => {
    resolver.invalidate(names);
    options.onWritten?.(names);
    await syncRendered(names);
    await mirrorWrites(names);
  };

  const seedDeps: SeedDeps = {
    manifest,
    keyManager,
    checkDeliverable: (values) => checkDeliverable(manifest, keyManager, values),
    afterWrite: async (names) => {
      resolver.invalidate(names);
      if (names.length > 0) options.onWritten?.(names);
      // The first seed also renders options that use no secret; unchanged ones are skipped.
      if (names.length > 0) await syncRendered();
      await mirrorWrites(names);
    },
    ...(records && { journal: createSeedJournal(records) }),
    ...(options.afterSeedWrite && { afterSecretWritten: options.afterSeedWrite }),
  };

  /** One secret, check-and-set on `cas`; callers run it serialized. */
  const writeSecret = async (name: string, value: SecretValue, cas: number) => {
    await checkDeliverable(manifest, keyManager, new Map([[name, value]]));
    const result = await keyManager.put(name, value, { cas });
    await afterWrite([name]);
    return result;
  };

  const resolveAll = (service: string) => {
    requireService(service);
    return Promise.all(
      [...manifestOptions(manifest, service)].map(({ group, option }) =>
        resolver.resolve(service, group, option),
      ),
    );
  };

  /** The last INI made per service and the entries it was made of: the resolver hands out the
   * same entry objects until a write invalidates them, so a restart storm renders each once. */
  const renderedIni = new Map<string, { entries: readonly ResolvedEntry[]; ini: string }>();
  const sameEntries = (a: readonly ResolvedEntry[], b: readonly ResolvedEntry[]) =>
    a.length === b.length && a.every((entry, i) => entry === b[i]);

  const recordFetch = (
    service: string,
    fetchedBy: Fetcher | undefined,
    what: FetchRecord["what"],
    versions: Iterable<readonly [string, number]>,
  ) => {
    if (!fetchedBy || !options.fetches) return;
    const carried: Record<string, number> = {};
    for (const [secret, version] of versions) {
      carried[secret] = Math.max(carried[secret] ?? 0, version);
    }
    options.fetches.record({ service, ...fetchedBy, what, versions: carried });
  };
  const entryVersions = (entries: readonly ResolvedEntry[]) =>
    entries.flatMap((e) => Object.entries(e.versions));

  const castellanId = (service: string, group: string, option: string) =>
    renderedPath(deployment, service, group, option);

  return {
    deployment,
    resolver,
    castellanId,
    syncRendered,

    forget(secretNames) {
      resolver.invalidate(secretNames);
      // What this broker believes the rendered records hold may have been rewritten elsewhere.
      renderedMemo.clear();
    },
    syncMirror: () =>
      serialized(async () => {
        if (!options.mirror) return undefined;
        const names = new Set([...manifest.secrets.keys(), ...(await keyManager.list())]);
        return options.mirror.sync(names, currentValue);
      }),

    services: () => [...manifest.services.keys()],
    hasService: (service) => manifest.services.has(service),

    hasOption: (service, group, option) =>
      manifest.services.get(service)?.options.get(group)?.has(option) ?? false,

    lookup(service, group, option) {
      const spec = manifest.services.get(service);
      if (!spec?.options.get(group)?.has(option)) {
        return Promise.reject(
          spec ? unknownOption(service, group, option) : unknownService(service),
        );
      }
      const hit = resolver.cached(service, group, option);
      if (hit !== undefined) return hit.option;
      return resolver.resolve(service, group, option).then((entry) => entry.option);
    },

    async serviceOptions(service, fetchedBy) {
      const entries = await resolveAll(service);
      recordFetch(service, fetchedBy, "json", entryVersions(entries));
      return entries.map((entry) => entry.option);
    },

    async serviceFiles(service, fetchedBy) {
      const files = await renderServiceFiles(requireService(service), keyManager);
      recordFetch(
        service,
        fetchedBy,
        "files",
        files.map((f) => [f.secret, f.version] as const),
      );
      return files;
    },

    async renderIni(service, fetchedBy) {
      const entries = await resolveAll(service);
      recordFetch(service, fetchedBy, "ini", entryVersions(entries));
      const made = renderedIni.get(service);
      if (made && sameEntries(made.entries, entries)) return made.ini;
      const groups = [...requireService(service).options.keys()].map((group) => ({
        group,
        options: entries
          .filter((e) => e.option.group === group && e.raw !== undefined)
          .map((e) => ({ option: e.option.option, values: e.raw! })),
      }));
      const ini = renderOsloIni(service, groups);
      renderedIni.set(service, { entries, ini });
      return ini;
    },

    castellanMapping(service) {
      requireService(service);
      return renderCastellanMapping(
        castellanMappedOptions(manifest, service).map(({ group, option }) => ({
          group,
          option,
          castellanId: castellanId(service, group, option),
        })),
      );
    },

    castellanConfig(service, credentials) {
      requireService(service);
      return renderCastellanConfig({
        vaultUrl: options.vaultUrl,
        roleId: credentials.roleId,
        secretId: credentials.secretId,
        kvMount: options.kvMount,
        ...(options.caFile !== undefined && { caFile: options.caFile }),
      });
    },

    async listSecrets(): Promise<SecretMetadata[]> {
      const names = await keyManager.list();
      const found = await mapLimit(names, READ_CONCURRENCY, async (name) => {
        const stored = await keyManager.get(name);
        if (!stored) return undefined;
        return {
          name,
          type: stored.type,
          version: stored.version,
          created: stored.created,
          consumers: consumersOf(manifest, name),
        };
      });
      return found.filter((m): m is SecretMetadata => m !== undefined);
    },

    async putSecret(name, value) {
      if (!SECRET_NAME_PATTERN.test(name)) throw usageError(`invalid secret name "${name}"`);
      return serialized(async () => {
        const current = Math.max(0, ...(await keyManager.versions(name)).map((v) => v.version));
        return writeSecret(name, value, current);
      });
    },

    commitSecret: (name, value, expectedVersion) =>
      serialized(() => writeSecret(name, value, expectedVersion)),

    seed(request) {
      return serialized(async () => {
        const report = await seedSecrets(seedDeps, request);
        if (!request.dryRun) await options.afterSeed?.();
        return report;
      });
    },

    recoverSeed() {
      return serialized(() => recoverSeed(seedDeps));
    },
  };
}

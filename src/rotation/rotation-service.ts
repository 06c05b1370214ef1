/**
 * The broker's rotations: plan, start, resume, list. Rotations run in the background of the
 * broker process, one at a time per call (a consumer of several rotated secrets restarts once
 * per secret); the store's lock keeps two brokers from rotating one secret at once.
 */
import { randomBytes } from "node:crypto";
import type { DriverRegistry } from "../../drivers/registry.js";
import type { KeyManager, SecretValue } from "../../drivers/types.js";
import type { Manifest } from "../config/manifest.js";
import type { AuditEvent } from "../lib/audit-log.js";
import { ERRORS } from "../lib/errors.js";
import type { FetchLog } from "../lib/fetch-log.js";
import { createGenerator } from "../seed/generators.js";
import { consumerPlansOf, type FetchCheck, rollingRestart } from "./rolling-restart.js";
import {
  abortRotation,
  type RestartOutcome,
  type RotationEngineDeps,
  runRotation,
} from "./rotation-engine.js";
import {
  checkRotatable,
  describeRestart,
  overlapWindow,
  type RotationPlan,
  restartBatches,
  restartSeconds,
  restartWidth,
} from "./rotation-plan.js";
import {
  isFinished,
  type RotationRecord,
  type RotationStep,
  type RotationView,
  viewOf,
} from "./rotation-record.js";
import { lockedError, type RotationStore } from "./rotation-store.js";
import { createSecretTargets } from "./rotation-targets.js";
import type { SecretSinks } from "./secret-sinks.js";

export interface RotationService {
  plan(secrets: readonly string[], options?: { force?: boolean }): Promise<RotationPlan[]>;
  /** Checks every secret first; starts nothing when one is refused. */
  start(
    secrets: readonly string[],
    options?: {
      force?: boolean;
      trigger?: RotationRecord["trigger"];
      /**
       * Unix ms. Skips (starts no rotation for) a secret whose current version was written at
       * or after this time, checked while holding its lock: a schedule's run that another
       * broker sharing the Vault already did.
       */
      unlessRotatedSince?: number;
    },
  ): Promise<RotationView[]>;
  /** Resumes one unfinished rotation, or every one when `id` is absent. */
  resume(id?: string): Promise<RotationView[]>;
  /** Rolls back an unfinished rotation that has not committed; answers once it is done. */
  abort(id: string): Promise<RotationView>;
  list(): Promise<RotationView[]>;
  get(id: string): Promise<RotationView>;
  /** Resolves when every rotation this broker runs has stopped (tests, shutdown). */
  idle(): Promise<void>;
}

/** A rotation's commit: writes `value` only if `expectedVersion` is still the current one. */
export type SecretCommitter = RotationEngineDeps["commit"];

/** What the broker saw services fetch (its fetch log): a rotation waits on it per restart. */
export type FetchWatch = Pick<FetchLog, "waitForFetch">;

/** How long a restarted, healthy consumer may take to show its fetch (it fetches at start). */
const FETCH_WAIT_MS = 30_000;

export interface RotationServiceDeps {
  manifest: Manifest;
  keyManager: KeyManager;
  store: RotationStore;
  registry: DriverRegistry;
  owner: string;
  commit: SecretCommitter;
  /** Without it, restarts are not checked against fetches (tests of the machine alone). */
  fetches?: FetchWatch;
  /** The manifest's sinks, written after each commit (none when absent). */
  sinks?: SecretSinks;
  log(event: string, fields?: Record<string, unknown>): void;
  afterPersist?(step: RotationStep): void | Promise<void>;
  audit?(event: AuditEvent): void;
  lockTtlMs?: number;
}

const DEFAULT_LOCK_TTL_MS = 5 * 60_000;

const notFound = (id: string) => ERRORS.STRONGROOM_ERR_UNKNOWN_ROTATION(`no rotation "${id}"`);

const unfinishedError = (record: RotationRecord) =>
  ERRORS.STRONGROOM_ERR_ROTATION_UNFINISHED(
    `${record.secret} has an unfinished rotation ${record.id} (last step: ${record.step}): run strongroom rotate --resume ${record.id}`,
  );

/** A restarted unit counts once its service fetched a config carrying the new version. */
function fetchCheck(fetches: FetchWatch, record: RotationRecord): FetchCheck {
  return async (plan, since, signal) => {
    const version = record.toVersion ?? 0;
    const wait = AbortSignal.any([signal, AbortSignal.timeout(FETCH_WAIT_MS)]);
    const seen = await fetches.waitForFetch(plan.service, record.secret, version, since, wait);
    if (seen) {
      const at = new Date(seen.at).toISOString();
      return {
        ok: true,
        detail: `${seen.what} with version ${version} fetched by ${seen.identity} (${seen.via}) at ${at}`,
      };
    }
    return {
      ok: false,
      reason:
        `restarted, but ${plan.service} fetched no config with ${record.secret} version ${version} ` +
        "from the broker (oslo.config carries on with its defaults when the broker cannot be " +
        "reached): it may be running without its configuration",
    };
  };
}

function syncSinksWith(sinks: SecretSinks, log: RotationServiceDeps["log"]) {
  return async (secret: string) => {
    for (const report of await sinks.sync([secret])) log("secret sink", { secret, ...report });
  };
}

export function createRotationService(deps: RotationServiceDeps): RotationService {
  const { manifest, keyManager, store } = deps;
  const lockTtlMs = deps.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
  const active = new Map<string, Promise<RotationRecord>>();

  const generate = (secret: string): SecretValue => {
    const generator = createGenerator(manifest.secrets.get(secret)!.generator);
    if (!generator) throw new Error(`${secret} has no generator`);
    return generator();
  };

  const restartConsumers = async (
    record: RotationRecord,
    onRestarted: (unit: string, detail?: { fetched?: string }) => Promise<void>,
  ): Promise<RestartOutcome> => {
    const consumers = record.consumers.flatMap((service) =>
      consumerPlansOf(manifest.services.get(service)!),
    );
    const maxParallel = restartWidth(consumers.map((c) => c.rolling));
    const result = await rollingRestart({
      consumers,
      alreadyDone: new Set(record.restarted),
      registry: deps.registry,
      maxParallel,
      onRestarted,
      ...(deps.fetches && { confirmFetch: fetchCheck(deps.fetches, record) }),
      log: (event: string, fields: Record<string, unknown>) =>
        deps.log(event, { rotation: record.id, ...fields }),
    });
    if (result.ok) return { ok: true };
    const rest =
      result.notStarted.length > 0 ? `; not restarted: ${result.notStarted.join(", ")}` : "";
    return { ok: false, failure: `${result.failed.service}: ${result.failed.reason}${rest}` };
  };

  const engine: RotationEngineDeps = {
    manifest,
    keyManager,
    store,
    registry: deps.registry,
    owner: deps.owner,
    lockTtlMs,
    commit: deps.commit,
    generate,
    restartConsumers,
    ...(deps.sinks && { syncSinks: syncSinksWith(deps.sinks, deps.log) }),
    log: deps.log,
    ...(deps.afterPersist && { afterPersist: deps.afterPersist }),
    ...(deps.audit && { audit: deps.audit }),
  };

  /** One after the other, in the background; the caller polls the views. Queued ones count
   * as active, so they do not look interrupted while they wait their turn. */
  const runAll = (records: RotationRecord[]) => {
    let chain: Promise<unknown> = Promise.resolve();
    for (const record of records) {
      const running = chain
        .then(() => runRotation(engine, record))
        .finally(() => active.delete(record.id));
      active.set(record.id, running);
      chain = running.catch(() => {});
    }
  };

  const view = (record: RotationRecord) => viewOf(record, active.has(record.id));

  const unfinished = async () => (await store.list()).filter((r) => !isFinished(r));

  /** Versions carry whole seconds: only ones from the first whole second after `sinceMs` count. */
  const writtenSince = async (secret: string, sinceMs: number) =>
    (await deps.keyManager.versions(secret)).some((v) => v.created >= Math.ceil(sinceMs / 1000));

  const plan = async (secret: string, force: boolean): Promise<RotationPlan> => {
    const overridden = checkRotatable(manifest, secret, force);
    const spec = manifest.secrets.get(secret)!;
    if (spec.generator.kind === "none") {
      throw ERRORS.STRONGROOM_ERR_ROTATION_REFUSED(
        `${secret} may not rotate: it has no generator (its value is operator-supplied; set it with PUT /v1/secrets/${secret})`,
      );
    }
    const current = await keyManager.get(secret);
    if (!current) {
      throw ERRORS.STRONGROOM_ERR_ROTATION_REFUSED(
        `${secret} has no value in the store yet: seed it first`,
      );
    }
    const targets = await createSecretTargets(
      { manifest, keyManager, registry: deps.registry, log: deps.log },
      secret,
      () => undefined,
    );
    const descriptions = targets.map((t) => t.describe());
    await Promise.all(targets.map((t) => t.close?.()));
    const batches = restartBatches(manifest, secret);
    const maxRestartSeconds = restartSeconds(manifest, batches);
    return {
      secret,
      currentVersion: current.version,
      generator: spec.generator.kind,
      forced: overridden !== undefined,
      ...(overridden !== undefined && { overridden }),
      targets: descriptions,
      consumers: batches.flat().map((s) => describeRestart(manifest.services.get(s)!)),
      restartOrder: batches,
      window: overlapWindow(descriptions, maxRestartSeconds),
      maxRestartSeconds,
    };
  };

  const planAll = async (secrets: readonly string[], force: boolean) => {
    const plans: RotationPlan[] = [];
    for (const secret of new Set(secrets)) plans.push(await plan(secret, force));
    return plans;
  };

  return {
    plan: (secrets, options = {}) => planAll(secrets, options.force === true),

    async start(secrets, options = {}) {
      const plans = await planAll(secrets, options.force === true);
      for (const p of plans) {
        // An unfinished rotation keeps the lock (expired or not) until it is done or rolled back.
        const holder = await store.lockHolder(p.secret);
        const blocking = holder && (await store.get(holder.rotation));
        if (blocking && !isFinished(blocking)) throw unfinishedError(blocking);
      }
      const records: RotationRecord[] = [];
      for (const p of plans) {
        const record = newRecord(manifest.deployment.name, p, options.trigger ?? "operator");
        const holder = {
          rotation: record.id,
          owner: deps.owner,
          expiresAt: Date.now() + lockTtlMs,
        };
        await store.acquireLock(p.secret, holder);
        if (
          options.unlessRotatedSince !== undefined &&
          (await writtenSince(p.secret, options.unlessRotatedSince))
        ) {
          await store.releaseLock(p.secret, holder);
          deps.log("rotation skipped: rotated since", {
            secret: p.secret,
            since: new Date(options.unlessRotatedSince).toISOString(),
          });
          continue;
        }
        await store.create(record);
        records.push(record);
        deps.log("rotation planned", {
          rotation: record.id,
          secret: p.secret,
          consumers: record.consumers,
          ...(p.overridden && { forced: p.overridden }),
        });
      }
      runAll(records);
      return records.map(view);
    },

    async resume(id) {
      const candidates = id === undefined ? await unfinished() : [await store.get(id)];
      const records: RotationRecord[] = [];
      const lockedElsewhere = new Set<string>();
      for (const record of candidates) {
        if (!record) throw notFound(id!);
        if (isFinished(record)) {
          throw ERRORS.STRONGROOM_ERR_ROTATION_FINISHED(
            `rotation ${record.id} is already ${record.status}`,
          );
        }
        if (active.has(record.id)) continue;
        // Another broker (a replica) still renews its lock: it is running there, or it was killed
        // and the lock has not expired yet. Said now, not swallowed by the run below.
        const holder = await store.lockHolder(record.secret);
        if (
          holder?.rotation === record.id &&
          holder.owner !== deps.owner &&
          holder.expiresAt > Date.now()
        ) {
          if (id !== undefined) throw lockedError(record.secret, holder, Date.now());
          lockedElsewhere.add(record.id);
          continue;
        }
        // Shown as running at once, so a caller polling the answer follows the resumed run.
        record.status = "running";
        delete record.error;
        records.push(record);
      }
      runAll(records);
      return candidates.filter((r) => !lockedElsewhere.has(r!.id)).map((r) => view(r!));
    },

    async abort(id) {
      const record = await store.get(id);
      if (!record) throw notFound(id);
      if (isFinished(record)) {
        throw ERRORS.STRONGROOM_ERR_ROTATION_FINISHED(
          `rotation ${record.id} is already ${record.status}`,
        );
      }
      if (active.has(record.id)) {
        throw ERRORS.STRONGROOM_ERR_ROTATION_RUNNING(
          `rotation ${record.id} is running now: abort it once it stopped (strongroom rotations ${record.id})`,
        );
      }
      // Counted as active while it rolls back: a concurrent resume or abort must not start.
      const aborting = abortRotation(engine, record).finally(() => active.delete(record.id));
      active.set(record.id, aborting);
      return view(await aborting);
    },

    async list() {
      return (await store.list()).map(view);
    },

    async get(id) {
      const record = await store.get(id);
      if (!record) throw notFound(id);
      return view(record);
    },

    async idle() {
      while (active.size > 0) await Promise.allSettled([...active.values()]);
    },
  };
}

function newRecord(
  deployment: string,
  plan: RotationPlan,
  trigger: RotationRecord["trigger"],
): RotationRecord {
  const at = new Date().toISOString();
  const stamp = at.replace(/[-:]/g, "").replace(/\..*/, "");
  return {
    id: `${stamp}-${plan.secret}-${randomBytes(3).toString("hex")}`,
    secret: plan.secret,
    deployment,
    step: "planned",
    status: "running",
    trigger,
    forced: plan.forced,
    fromVersion: plan.currentVersion,
    consumers: plan.restartOrder.flat(),
    restarted: [],
    createdAt: at,
    updatedAt: at,
    history: [{ step: "planned", at }],
  };
}

/**
 * Rotation records and per-secret locks, persisted beside the secrets (src/vault/kv-layout.ts):
 * `rotations/<id>` and `locks/<Secret>`. Every update is a check-and-set on the entry's KV
 * version, so two brokers sharing one Vault can neither both hold a lock nor both advance a
 * rotation.
 */

import { mapLimit } from "../lib/concurrency.js";
import { ERRORS } from "../lib/errors.js";
import { DEPLOYMENT_KEYS } from "../vault/kv-layout.js";
import type { RecordStore } from "../vault/record-store.js";
import type { RotationRecord } from "./rotation-record.js";

export interface LockHolder {
  rotation: string;
  /** The broker holding it: stable across restarts of the same state dir. */
  owner: string;
  expiresAt: number;
}

export interface RotationStore {
  create(record: RotationRecord): Promise<void>;
  /** Persists the record; fails when another writer changed it since it was read or created. */
  save(record: RotationRecord): Promise<void>;
  get(id: string): Promise<RotationRecord | undefined>;
  list(): Promise<RotationRecord[]>;
  /** The rotation holding the secret's lock (expired or not), if any. */
  lockHolder(secret: string): Promise<LockHolder | undefined>;
  acquireLock(secret: string, holder: LockHolder): Promise<void>;
  renewLock(secret: string, holder: LockHolder): Promise<void>;
  releaseLock(secret: string, holder: Pick<LockHolder, "rotation" | "owner">): Promise<void>;
}

export const lockedError = (secret: string, holder: LockHolder, now: number) =>
  ERRORS.STRONGROOM_ERR_ROTATION_LOCKED(
    `${secret} is being rotated by ${holder.rotation} (broker ${holder.owner}, lock expires in ${Math.max(0, Math.ceil((holder.expiresAt - now) / 1000))} s)`,
  );

const conflict = (what: string) =>
  ERRORS.STRONGROOM_ERR_ROTATION_CONFLICT(`${what} was changed by another broker: stopped here`);

const isCasMismatch = (error: unknown) => ERRORS.STRONGROOM_ERR_CAS_MISMATCH.is(error);

const { rotation: recordPath, lock: lockPath } = DEPLOYMENT_KEYS;
const LIST_CONCURRENCY = 16;

export function createRotationStore(records: RecordStore, now = () => Date.now()): RotationStore {
  /** The KV version each record was last read or written at: the next save's cas. */
  const versions = new Map<string, number>();

  const write = async (record: RotationRecord, cas: number) => {
    try {
      const version = await records.write(recordPath(record.id), { ...record }, cas);
      versions.set(record.id, version);
    } catch (error) {
      if (isCasMismatch(error)) throw conflict(`rotation ${record.id}`);
      throw error;
    }
  };

  const readLock = async (secret: string) => {
    const found = await records.readVersioned(lockPath(secret));
    const data = found?.data as Partial<LockHolder> | undefined;
    const holder =
      data && typeof data.rotation === "string" && typeof data.owner === "string"
        ? (data as LockHolder)
        : undefined;
    return { version: found?.version ?? 0, holder };
  };

  const writeLock = async (secret: string, data: Record<string, unknown>, cas: number) => {
    try {
      await records.write(lockPath(secret), data, cas);
      return true;
    } catch (error) {
      if (isCasMismatch(error)) return false;
      throw error;
    }
  };

  const get = async (id: string) => {
    const found = await records.readVersioned(recordPath(id));
    if (!found) return undefined;
    versions.set(id, found.version);
    return found.data as unknown as RotationRecord;
  };

  return {
    create: (record) => write(record, 0),

    save: (record) => write(record, versions.get(record.id) ?? 0),

    get,

    async list() {
      const ids = (await records.list(DEPLOYMENT_KEYS.rotationsFolder)).filter(
        (k) => !k.endsWith("/"),
      );
      const found = await mapLimit(ids, LIST_CONCURRENCY, get);
      const out = found.filter((record): record is RotationRecord => record !== undefined);
      return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
    },

    lockHolder: async (secret) => (await readLock(secret)).holder,

    async acquireLock(secret, holder) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const { version, holder: current } = await readLock(secret);
        const free =
          !current ||
          current.expiresAt <= now() ||
          // The same broker after a restart (one `up` per state dir), resuming its rotation.
          current.owner === holder.owner;
        if (!free) throw lockedError(secret, current, now());
        if (await writeLock(secret, { ...holder }, version)) return;
      }
      throw conflict(`the lock of ${secret}`);
    },

    async renewLock(secret, holder) {
      const { version, holder: current } = await readLock(secret);
      if (current?.rotation !== holder.rotation || current.owner !== holder.owner) {
        throw conflict(`the lock of ${secret}`);
      }
      if (!(await writeLock(secret, { ...holder }, version)))
        throw conflict(`the lock of ${secret}`);
    },

    async releaseLock(secret, holder) {
      const { version, holder: current } = await readLock(secret);
      if (current?.rotation !== holder.rotation || current.owner !== holder.owner) return;
      await writeLock(secret, { released: holder.rotation }, version);
    },
  };
}

/**
 * Service kits the broker knows, and their revocation. `service-kit` mints each kit its own mTLS
 * client certificate and AppRole secret-id, and records both here (serial, fingerprint, expiry,
 * secret-id accessor; never the secret-id) at `kits/<service>/<serial>` beside the deployment's
 * secrets. Revoking destroys the secret-id in Vault and adds the serial to the deny-list
 * (`kit-revocations`), which every broker replica reads: at start, every REFRESH_MS, and at once
 * after its own writes. The authenticator refuses a listed certificate (STRONGROOM_ERR_KIT_REVOKED).
 */
import { ERRORS } from "../lib/errors.js";
import { canonicalSerial } from "../lib/pki.js";
import { DEPLOYMENT_KEYS, roleApiPath, serviceRoleName } from "../vault/kv-layout.js";
import type { RecordStore } from "../vault/record-store.js";
import { type VaultClient, vaultStatusOf } from "../vault/vault-client.js";
import type { KitStatus } from "./kit-status.js";

/** How stale another replica's deny-list may be: a revocation reaches it within this. */
export const REVOCATIONS_REFRESH_MS = 30_000;
const CAS_ATTEMPTS = 5;

export interface KitIssued {
  serial: string;
  fingerprint?: string;
  notAfter?: string;
  secretIdAccessor?: string;
  /** When the secret-id expires (ISO), absent when it does not. */
  secretIdExpires?: string;
}

export interface KitRecord extends KitIssued {
  service: string;
  issuedAt: string;
  issuedBy: string;
  revokedAt?: string;
  revokedBy?: string;
}

/** A row of `kits list`: a recorded kit, or a secret-id Vault holds that no record names. */
export interface KitView {
  service: string;
  serial?: string;
  fingerprint?: string;
  notAfter?: string;
  secretIdAccessor?: string;
  secretIdExpires?: string;
  issuedAt?: string;
  issuedBy?: string;
  revokedAt?: string;
  /** Whether Vault still holds the kit's secret-id. */
  secretIdLive: boolean;
  status: KitStatus;
}

export type KitSelector = { all: true } | { serial: string } | { secretIdAccessor: string };

export interface KitRevoked {
  serial?: string;
  secretIdAccessor?: string;
  /** destroyed now, already gone (expired or destroyed before), or the kit had none. */
  secretId: "destroyed" | "gone" | "none";
}

/** What the authenticator asks on a new connection (synchronous: from memory). */
export interface RevokedCertificates {
  has(serial: string): boolean;
  /** Changes whenever the list does: connections re-check their certificate then. */
  revision(): number;
}

export interface KitRegistry extends RevokedCertificates {
  issued(service: string, kit: KitIssued, by: string): Promise<KitRecord>;
  list(service?: string): Promise<KitView[]>;
  revoke(service: string, selector: KitSelector, by: string): Promise<KitRevoked[]>;
  /** Reads the deny-list again (other replicas' revocations). */
  refresh(): Promise<void>;
  close(): void;
}

export interface KitRegistryOptions {
  records: RecordStore;
  /** The operator's client: LIST and destroy on the deployment's AppRole secret-ids. */
  vault: Pick<VaultClient, "list" | "write">;
  deployment: string;
  services: readonly string[];
  now?: () => Date;
  refreshMs?: number;
  onRefreshError?: (error: Error) => void;
}

/** A certificate serial as one spelling: lower-case hex without leading zeros (Node: upper-case). */
export function normalSerial(serial: string): string {
  const hex = canonicalSerial(serial);
  if (!/^[0-9a-f]{1,64}$/.test(hex))
    throw ERRORS.STRONGROOM_ERR_USAGE(`invalid serial "${serial.slice(0, 80)}"`);
  return hex;
}

interface Revocations {
  serials: Record<string, { service: string; revokedAt: string }>;
}

export async function createKitRegistry(options: KitRegistryOptions): Promise<KitRegistry> {
  const { records, vault, deployment } = options;
  const now = options.now ?? (() => new Date());
  let denied = new Set<string>();
  let revision = 0;

  const load = async () => {
    const found = await records.readVersioned(DEPLOYMENT_KEYS.kitRevocations);
    const serials = (found?.data as Revocations | undefined)?.serials ?? {};
    return { serials, version: found?.version ?? 0 };
  };
  const adopt = (serials: Revocations["serials"]) => {
    const next = new Set(Object.keys(serials));
    if (next.size === denied.size && [...next].every((s) => denied.has(s))) return;
    denied = next;
    revision += 1;
  };
  const refresh = async () => adopt((await load()).serials);

  /** Adds serials to the shared list, check-and-set: two replicas revoking at once both land. */
  const deny = async (service: string, serials: string[]) => {
    if (serials.length === 0) return;
    for (let attempt = 1; ; attempt += 1) {
      const current = await load();
      const revokedAt = now().toISOString();
      const next = { ...current.serials };
      for (const serial of serials) next[serial] ??= { service, revokedAt };
      try {
        await records.write(DEPLOYMENT_KEYS.kitRevocations, { serials: next }, current.version);
        adopt(next);
        return;
      } catch (error) {
        if (attempt >= CAS_ATTEMPTS || !ERRORS.STRONGROOM_ERR_CAS_MISMATCH.is(error)) throw error;
      }
    }
  };

  const role = (service: string) => roleApiPath(serviceRoleName(deployment, service));

  const vaultAccessors = async (service: string): Promise<string[]> => {
    try {
      const answer = await vault.list(`${role(service)}/secret-id`);
      const keys: unknown = answer?.data?.keys;
      return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : [];
    } catch (error) {
      if (vaultStatusOf(error) === 404) return [];
      throw error;
    }
  };

  const destroy = async (service: string, accessor: string): Promise<KitRevoked["secretId"]> => {
    try {
      await vault.write(`${role(service)}/secret-id-accessor/destroy`, {
        secret_id_accessor: accessor,
      });
      return "destroyed";
    } catch (error) {
      const status = vaultStatusOf(error);
      // Vault answers an accessor it no longer holds (expired, destroyed) with a 4xx.
      if (status !== undefined && status >= 400 && status < 500) return "gone";
      throw error;
    }
  };

  const recorded = async (service: string): Promise<KitRecord[]> => {
    const serials = await records.list(DEPLOYMENT_KEYS.kitsFolderOf(service));
    const found = await Promise.all(
      serials
        .filter((key) => !key.endsWith("/"))
        .map((serial) => records.read(DEPLOYMENT_KEYS.kit(service, serial))),
    );
    return found.filter(
      (r): r is Record<string, unknown> => r !== undefined,
    ) as unknown as KitRecord[];
  };

  const knownService = (service: string) => {
    if (!options.services.includes(service)) {
      throw ERRORS.STRONGROOM_ERR_UNKNOWN_SERVICE(`unknown service "${service}"`);
    }
  };

  await refresh();
  const timer = setInterval(() => {
    refresh().catch((error: Error) => options.onRefreshError?.(error));
  }, options.refreshMs ?? REVOCATIONS_REFRESH_MS);
  timer.unref();

  return {
    has: (serial) => denied.has(serial),
    revision: () => revision,
    refresh,
    close: () => clearInterval(timer),

    async issued(service, kit, by) {
      knownService(service);
      const record: KitRecord = {
        ...kit,
        serial: normalSerial(kit.serial),
        service,
        issuedAt: now().toISOString(),
        issuedBy: by,
      };
      await records.write(DEPLOYMENT_KEYS.kit(service, record.serial), { ...record });
      return record;
    },

    async list(service) {
      const services = service === undefined ? [...options.services].sort() : [service];
      if (service !== undefined) knownService(service);
      const rows: KitView[] = [];
      const at = now().getTime();
      for (const name of services) {
        const [kits, accessors] = await Promise.all([recorded(name), vaultAccessors(name)]);
        const live = new Set(accessors);
        for (const kit of kits.sort((a, b) => a.issuedAt.localeCompare(b.issuedAt))) {
          // Vault lists an expired secret-id until its tidy removes it.
          const listed = kit.secretIdAccessor !== undefined && live.delete(kit.secretIdAccessor);
          const secretIdLive =
            listed && !(kit.secretIdExpires && Date.parse(kit.secretIdExpires) <= at);
          const expired = kit.notAfter !== undefined && Date.parse(kit.notAfter) <= at;
          const status: KitStatus =
            denied.has(kit.serial) || kit.revokedAt
              ? "revoked"
              : expired
                ? "expired"
                : kit.secretIdAccessor !== undefined && !secretIdLive
                  ? "secret-id-gone"
                  : "active";
          rows.push({ ...kit, secretIdLive, status });
        }
        // Secret-ids no record names: kits of older versions, or minted outside strongroom.
        for (const accessor of [...live].sort()) {
          rows.push({
            service: name,
            secretIdAccessor: accessor,
            secretIdLive: true,
            status: "untracked",
          });
        }
      }
      return rows;
    },

    async revoke(service, selector, by) {
      knownService(service);
      const kits = await recorded(service);
      let targets: Array<{ serial?: string; secretIdAccessor?: string; record?: KitRecord }>;
      if ("all" in selector) {
        const accessors = new Set(await vaultAccessors(service));
        targets = kits.map((record) => {
          if (record.secretIdAccessor) accessors.delete(record.secretIdAccessor);
          return { serial: record.serial, secretIdAccessor: record.secretIdAccessor, record };
        });
        for (const accessor of accessors) targets.push({ secretIdAccessor: accessor });
      } else if ("serial" in selector) {
        const serial = normalSerial(selector.serial);
        const record = kits.find((k) => k.serial === serial);
        // A serial no record names (a kit of an older version) is denied all the same.
        targets = [{ serial, secretIdAccessor: record?.secretIdAccessor, record }];
      } else {
        const accessor = selector.secretIdAccessor;
        const record = kits.find((k) => k.secretIdAccessor === accessor);
        if (!record && !(await vaultAccessors(service)).includes(accessor)) {
          throw ERRORS.STRONGROOM_ERR_UNKNOWN_KIT(
            `no kit of ${service} has the secret-id accessor ${accessor}`,
          );
        }
        targets = [{ serial: record?.serial, secretIdAccessor: accessor, record }];
      }

      const revoked: KitRevoked[] = [];
      for (const target of targets) {
        const secretId = target.secretIdAccessor
          ? await destroy(service, target.secretIdAccessor)
          : "none";
        revoked.push({
          ...(target.serial && { serial: target.serial }),
          ...(target.secretIdAccessor && { secretIdAccessor: target.secretIdAccessor }),
          secretId,
        });
      }
      await deny(
        service,
        targets.flatMap((t) => (t.serial ? [t.serial] : [])),
      );
      const revokedAt = now().toISOString();
      for (const { record } of targets) {
        if (record && !record.revokedAt) {
          await records.write(DEPLOYMENT_KEYS.kit(service, record.serial), {
            ...record,
            revokedAt,
            revokedBy: by,
          });
        }
      }
      return revoked;
    },
  };
}

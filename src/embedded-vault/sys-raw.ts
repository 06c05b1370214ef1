import type { CoreRequest, RawHandler } from "./core.js";
import type { HttpAnswer } from "./envelope.js";
import { badRequest, sealedError, unsupportedOperation } from "./errors.js";
import type { SealStatus } from "./seal/shamir-seal.js";

export const SERVER_VERSION = "1.15.0+strongroom";

export interface RawSysDeps {
  status(): SealStatus;
  storageType: string;
  clusterId(): string;
  initialize(
    shares: number,
    threshold: number,
  ): Promise<{ keys: string[]; keys_base64: string[]; root_token: string }>;
  submitShare(key: string): Promise<void>;
  resetUnseal(): void;
  seal(): void;
  /** Throws 403 unless the token is root or has sudo+update on sys/seal. */
  authorizeSeal(clientToken: string | undefined): void;
  authorize(clientToken: string | undefined): void;
}

const CLUSTER_NAME = "strongroom-embedded";

/** Vault's raw sys handlers: bare JSON objects, no envelope; most answer while sealed. */
export function createRawSysHandlers(deps: RawSysDeps): ReadonlyMap<string, RawHandler> {
  const sealStatus = (): Record<string, unknown> => {
    const status = deps.status();
    return {
      ...status,
      version: SERVER_VERSION,
      build_date: "2026-11-25T00:00:00Z",
      migration: false,
      cluster_name: status.sealed ? undefined : CLUSTER_NAME,
      cluster_id: status.sealed ? undefined : deps.clusterId(),
      recovery_seal: false,
      storage_type: deps.storageType,
    };
  };

  const methods =
    (allowed: string[], handler: RawHandler): RawHandler =>
    async (request) => {
      if (!allowed.includes(request.method) || request.list) throw unsupportedOperation();
      return handler(request);
    };

  const handlers: Record<string, RawHandler> = {
    "sys/init": methods(["GET", "PUT", "POST"], async (request) => {
      if (request.method === "GET") return ok({ initialized: deps.status().initialized });
      const { secret_shares: shares, secret_threshold: threshold } = request.data;
      // hvac always sends "root_token_pgp_key": null; only a real value asks for PGP.
      if (isSet(request.data.pgp_keys) || isSet(request.data.root_token_pgp_key)) {
        throw badRequest("PGP-encrypted shares are not supported by strongroom's embedded server");
      }
      if (request.data.stored_shares || request.data.recovery_shares) {
        throw badRequest(
          "stored shares and recovery keys need an auto-unseal seal, which this server does not have",
        );
      }
      return ok(
        await deps.initialize(
          toInteger(shares, "secret_shares"),
          toInteger(threshold, "secret_threshold"),
        ),
      );
    }),

    "sys/seal-status": methods(["GET"], async () => ok(sealStatus())),

    "sys/unseal": methods(["PUT", "POST"], async (request) => {
      const { key, reset } = request.data;
      if (reset === true || reset === "true") {
        if (!deps.status().sealed) throw badRequest("vault is unsealed");
        deps.resetUnseal();
        return ok(sealStatus());
      }
      if (typeof key !== "string" || key === "") {
        throw badRequest("'key' must be specified in request body as JSON, or 'reset' set to true");
      }
      if (!deps.status().initialized) throw badRequest("Vault is not initialized");
      await deps.submitShare(key);
      return ok(sealStatus());
    }),

    "sys/seal": methods(["PUT", "POST"], async (request) => {
      deps.authorizeSeal(request.clientToken);
      deps.seal();
      return { status: 204 };
    }),

    "sys/step-down": methods(["PUT", "POST"], async (request) => {
      deps.authorize(request.clientToken);
      return { status: 204 };
    }),

    "sys/health": methods(["GET", "HEAD"], async (request) => {
      const status = deps.status();
      const code = healthCode(request, status);
      const body = {
        initialized: status.initialized,
        sealed: status.sealed,
        standby: false,
        performance_standby: false,
        replication_performance_mode: "disabled",
        replication_dr_mode: "disabled",
        server_time_utc: Math.floor(Date.now() / 1000),
        version: SERVER_VERSION,
        cluster_name: status.sealed ? undefined : CLUSTER_NAME,
        cluster_id: status.sealed ? undefined : deps.clusterId(),
      };
      return request.method === "HEAD" ? { status: code } : { status: code, body };
    }),

    "sys/leader": methods(["GET"], async () => {
      if (deps.status().sealed) throw sealedError();
      return ok({
        ha_enabled: false,
        is_self: false,
        active_time: "0001-01-01T00:00:00Z",
        leader_address: "",
        leader_cluster_address: "",
        performance_standby: false,
        performance_standby_last_remote_wal: 0,
      });
    }),
  };
  // A Map: the core looks handlers up by the request path.
  return new Map(Object.entries(handlers));
}

/** Go's zero values (null, "", empty list) mean "not given", as they do to Vault's decoder. */
function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return false;
  return !(Array.isArray(value) && value.length === 0);
}

function ok(body: unknown): HttpAnswer {
  return { status: 200, body };
}

function toInteger(value: unknown, field: string): number {
  // Go decodes a missing field as 0, which the seal config check then refuses with Vault's message.
  if (value === undefined || value === null) return 0;
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isInteger(number)) {
    throw badRequest(`${field} must be an integer`);
  }
  return number;
}

function healthCode(request: CoreRequest, status: SealStatus): number {
  const code = (name: string, fallback: number): number => {
    const raw = request.query[name];
    if (raw === undefined || raw === "") return fallback;
    const parsed = Number(raw);
    if (!Number.isInteger(parsed) || parsed < 100 || parsed > 599) {
      throw badRequest(`bad code for '${name}' parameter: ${raw}`);
    }
    return parsed;
  };
  const active = code("activecode", 200);
  const uninit = code("uninitcode", 501);
  const sealed = code("sealedcode", 503);
  // The remaining overrides concern HA standbys and replication, which a single node never is.
  for (const name of ["standbycode", "drsecondarycode", "performancestandbycode"]) code(name, 0);
  if (!status.initialized) return uninit;
  if (status.sealed) return sealed;
  return active;
}

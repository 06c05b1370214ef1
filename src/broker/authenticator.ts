import { hash, timingSafeEqual } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import { ERRORS } from "../lib/errors.js";
import { identityFromSubject } from "../lib/pki.js";
import { serviceRoleName } from "../vault/kv-layout.js";
import { type VaultClient, vaultStatusOf } from "../vault/vault-client.js";
import { normalSerial, type RevokedCertificates } from "./kits.js";

export type Principal = { kind: "operator" } | { kind: "service"; service: string };

/** Turns credentials into a principal. createAuthenticator below is the real one. */
export interface Authenticator {
  /**
   * Called only for a certificate the TLS layer verified against the broker's CA
   * (`socket.authorized`), once per connection: the answer is cached on the socket. Throws
   * STRONGROOM_ERR_KIT_REVOKED (403) for a certificate of a revoked kit.
   */
  fromCertificate(cert: PeerCertificate): Principal | undefined;
  /**
   * Changes when a certificate's answer may have (a kit was revoked): a connection asks
   * fromCertificate again then, instead of reusing its cached answer. Absent: never.
   */
  certificateRevision?(): number;
  /**
   * The operator token or a service's AppRole Vault token, on every request that carries one:
   * an implementation that asks Vault should cache (and honour revocation) itself, and answer
   * what it already knows without a promise. With `lookup: false` it answers only from what it
   * knows (undefined for the rest): the caller is refusing lookups to a flooding client.
   */
  fromToken(
    token: string,
    options?: { lookup?: boolean },
  ): Principal | undefined | Promise<Principal | undefined>;
}

/** How long an answer about a token is reused: revocation shows within this window. */
export const TOKEN_CACHE_MS = 30_000;
const VALID_CACHE_LIMIT = 10_000;
/** Kept apart from valid answers: a flood of made-up tokens evicts only its own kind. */
const REFUSED_CACHE_LIMIT = 1_000;

export interface AuthenticatorOptions {
  deployment: string;
  services: readonly string[];
  operatorToken: string;
  /** A Vault client holding the operator token (policy: update on auth/token/lookup). */
  vault: Pick<VaultClient, "write">;
  /** Serials of revoked kits' certificates (kits.ts); none when absent. */
  revoked?: RevokedCertificates;
  now?: () => number;
}

interface TokenLookup {
  path?: string;
  meta?: Record<string, string> | null;
  ttl?: number;
}

/**
 * The broker's Authenticator: a verified client certificate names its service (or the operator)
 * in CN + OU; a token is the operator token itself, or an AppRole token of one of this
 * deployment's service roles whose secret-id names this deployment and service, as Vault's
 * `auth/token/lookup` says.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const services = new Set(options.services);
  const now = options.now ?? Date.now;
  const operatorDigest = digest(options.operatorToken);
  const roles = new Map(
    [...services].map((service) => [serviceRoleName(options.deployment, service), service]),
  );
  // Keyed by a digest: the caches never hold a token itself.
  // `kit`: the serial of the kit whose secret-id logged the token in, checked on every hit.
  const valid = new Map<string, { principal: Principal; until: number; kit?: string }>();
  const refused = new Map<string, { until: number }>();

  async function lookup(
    token: string,
  ): Promise<{ principal: Principal | undefined; ttlMs: number; kit?: string }> {
    const none = { principal: undefined, ttlMs: TOKEN_CACHE_MS };
    let data: TokenLookup;
    try {
      const answer = await options.vault.write("auth/token/lookup", { token });
      data = (answer?.data ?? {}) as TokenLookup;
    } catch (error) {
      // Vault answers 403 "bad token" / 400 for an unknown, expired or revoked token.
      const status = vaultStatusOf(error);
      if (status === 400 || status === 403 || status === 404) return none;
      throw error;
    }
    if (!data.path?.startsWith("auth/approle/login")) return none;
    const service = roles.get(data.meta?.role_name ?? "");
    if (service === undefined) return none;
    // The secret-id's metadata (service-kit): a token minted for another deployment's role
    // never passes for one of ours, whatever its role is called.
    if (data.meta?.deployment !== options.deployment || data.meta?.service !== service) return none;
    // Logged in with the secret-id of a kit revoked since (its token outlives the secret-id).
    const kit = data.meta?.kit;
    if (kit && options.revoked?.has(kit)) return none;
    const ttlMs = typeof data.ttl === "number" && data.ttl > 0 ? data.ttl * 1000 : TOKEN_CACHE_MS;
    return { principal: { kind: "service", service }, ttlMs, ...(kit && { kit }) };
  }

  return {
    fromCertificate(cert: PeerCertificate): Principal | undefined {
      const { revoked } = options;
      if (revoked && typeof cert?.serialNumber === "string") {
        const serial = normalSerial(cert.serialNumber);
        if (revoked.has(serial)) {
          throw ERRORS.STRONGROOM_ERR_KIT_REVOKED(
            `the client certificate (serial ${serial}) belongs to a revoked service kit`,
          );
        }
      }
      const identity = identityFromSubject(cert?.subject);
      if (identity?.kind === "service" && !services.has(identity.service)) return undefined;
      return identity;
    },

    ...(options.revoked && { certificateRevision: options.revoked.revision }),

    // Synchronous for the operator token and for cached answers: a lookup then costs no
    // promise hop, which on the hot path is a measurable share of the request.
    fromToken(
      token: string,
      { lookup: mayLookUp = true }: { lookup?: boolean } = {},
    ): Principal | undefined | Promise<Principal | undefined> {
      const key = digest(token);
      if (timingSafeEqual(key, operatorDigest)) return OPERATOR;
      const id = key.toString("hex");
      const known = valid.get(id);
      if (known && known.until > now()) {
        if (known.kit === undefined || !options.revoked?.has(known.kit)) return known.principal;
        valid.delete(id);
      }
      const refusal = refused.get(id);
      if ((refusal && refusal.until > now()) || !mayLookUp) return undefined;
      return lookup(token).then(({ principal, ttlMs, kit }) => {
        // Never beyond the token's own expiry.
        const until = now() + Math.min(TOKEN_CACHE_MS, ttlMs);
        if (principal === undefined) setBounded(refused, id, { until }, REFUSED_CACHE_LIMIT);
        else setBounded(valid, id, { principal, until, ...(kit && { kit }) }, VALID_CACHE_LIMIT);
        return principal;
      });
    },
  };
}

/** Sets an entry, first dropping the oldest one when the map is full. */
function setBounded<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  map.delete(key);
  if (map.size >= limit) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
}

const OPERATOR: Principal = Object.freeze({ kind: "operator" });

function digest(token: string): Buffer {
  return hash("sha256", token, "buffer");
}

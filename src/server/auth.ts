import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  onRequestHookHandler,
} from "fastify";
import fp from "fastify-plugin";
import type { Authenticator, Principal } from "../broker/authenticator.js";
import type { Fetcher } from "../broker/broker-service.js";
import { AuthFailures } from "./auth-failures.js";
import { ForbiddenError, RateLimitedError, UnauthenticatedError } from "./error-codes.js";
import type { RateLimitPreset } from "./rate-limit.js";
import { appendRouteHook } from "./route-hooks.js";

/**
 * Who may call a /v1 route: only the operator, or also the service named by the route's
 * `service` parameter. Routes without one are operator-only (fail closed).
 */
export type Access = "operator" | "own-service";

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

/** The service identity behind a request, for the broker's fetch log; undefined for the operator. */
export function fetcherOf(request: FastifyRequest): Fetcher | undefined {
  const { principal } = request;
  if (principal?.kind !== "service") return undefined;
  const socket = request.raw.socket;
  const viaCertificate = socket instanceof TLSSocket && socket.authorized;
  return { identity: principal.service, via: viaCertificate ? "certificate" : "token" };
}

/** `Authorization: Bearer <token>` (scheme case-insensitive) or `X-Vault-Token`. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization !== undefined && authorization.length > 7) {
    if (authorization.slice(0, 7).toLowerCase() === "bearer ") {
      return authorization.slice(7).trim() || undefined;
    }
  }
  const vaultToken = headers["x-vault-token"];
  return typeof vaultToken === "string" && vaultToken !== "" ? vaultToken : undefined;
}

export function mayAccess(principal: Principal, access: Access, params: unknown): boolean {
  if (principal.kind === "operator") return true;
  if (access !== "own-service") return false;
  return (params as { service?: unknown }).service === principal.service;
}

/**
 * How long a connection reuses the answer for the token it sent last: it skips the
 * authenticator's hashing and cache lookup. Revocation still shows within the authenticator's
 * own window plus this. The comparison is constant-time all the same: behind a proxy that
 * pools connections, one connection carries many clients' requests.
 */
export const TOKEN_MEMO_MS = 1_000;

export interface AuthPluginOptions {
  authenticator: Authenticator;
  /** Refused requests per client address and window; none when absent. */
  failureLimit?: RateLimitPreset;
}

/**
 * Authenticates and authorizes every route of the context it is registered in, as the last
 * onRequest hook of each route: after the rate limiter, and before a body is read, so
 * anonymous callers cannot make the broker parse one. The route's access level is read once,
 * when the route is added, and a certificate's principal once per connection; a token's once
 * per connection and second (see TOKEN_MEMO_MS). Refusals count against `failureLimit`: past
 * it, 429, and a token the authenticator does not already know is not looked up at all.
 */
export const authPlugin = fp(
  async (app: FastifyInstance, options: AuthPluginOptions) => {
    const { authenticator, failureLimit } = options;
    // null: this connection's certificate maps to no principal. Asked again once the
    // authenticator's certificate revision moves (a kit was revoked).
    const certificatePrincipals = new WeakMap<
      TLSSocket,
      { principal: Principal | null; revision: number }
    >();
    const revision = () => authenticator.certificateRevision?.() ?? 0;
    const failures = failureLimit ? new AuthFailures(failureLimit) : undefined;

    const fromCertificate = (request: FastifyRequest): Principal | undefined => {
      const socket = request.raw.socket;
      if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
      const current = revision();
      let known = certificatePrincipals.get(socket);
      if (known === undefined || known.revision !== current) {
        const principal = authenticator.fromCertificate(socket.getPeerCertificate()) ?? null;
        known = { principal, revision: current };
        certificatePrincipals.set(socket, known);
      }
      return known.principal ?? undefined;
    };

    // Successful answers only: every refusal goes through the authenticator and is counted.
    const tokenMemos = new WeakMap<
      Socket,
      { token: Buffer; principal: Principal; until: number }
    >();
    const remember = (socket: Socket, token: Buffer, principal: Principal | undefined) => {
      if (principal !== undefined)
        tokenMemos.set(socket, { token, principal, until: Date.now() + TOKEN_MEMO_MS });
      return principal;
    };
    const fromToken = (
      request: FastifyRequest,
      token: string,
      lookup: boolean,
    ): Principal | undefined | Promise<Principal | undefined> => {
      const socket = request.raw.socket;
      const presented = Buffer.from(token, "utf8");
      const memo = tokenMemos.get(socket);
      if (
        memo !== undefined &&
        memo.until > Date.now() &&
        memo.token.length === presented.length &&
        timingSafeEqual(memo.token, presented)
      )
        return memo.principal;
      const principal = authenticator.fromToken(token, { lookup });
      return principal instanceof Promise
        ? principal.then((answer) => remember(socket, presented, answer))
        : remember(socket, presented, principal);
    };

    const tooMany = (reply: FastifyReply, seconds: number) => {
      reply.header("retry-after", seconds);
      return new RateLimitedError(`${seconds} s`);
    };

    const refuse = (
      request: FastifyRequest,
      reply: FastifyReply,
      done: HookHandlerDoneFunction,
      error: Error,
    ) => {
      if (failures === undefined) return done(error);
      const limitedFor = failures.limitedFor(request.ip);
      failures.record(request.ip);
      done(limitedFor > 0 ? tooMany(reply, limitedFor) : error);
    };

    const guard = (access: Access): onRequestHookHandler =>
      function authenticate(request, reply, done) {
        const admit = (principal: Principal | undefined) => {
          if (principal === undefined)
            return refuse(request, reply, done, new UnauthenticatedError());
          if (!mayAccess(principal, access, request.params))
            return refuse(request, reply, done, new ForbiddenError());
          request.principal = principal;
          done();
        };
        // An explicit token wins over the connection's certificate, and a bad one is not rescued by it.
        const token = bearerToken(request.headers);
        if (token === undefined) {
          let principal: Principal | undefined;
          try {
            principal = fromCertificate(request);
          } catch (error) {
            // A revoked kit's certificate: its own 403, counted like any refusal.
            return refuse(request, reply, done, error as Error);
          }
          admit(principal);
        } else {
          const limited = failures !== undefined && failures.limitedFor(request.ip) > 0;
          const principal = fromToken(request, token, !limited);
          if (principal instanceof Promise) principal.then(admit, done);
          else admit(principal);
        }
      };

    app.decorateRequest("principal", null);
    app.addHook("onRoute", (route) => {
      appendRouteHook(route, "onRequest", guard(route.config?.access ?? "operator"));
    });
  },
  { name: "strongroom-auth" },
);

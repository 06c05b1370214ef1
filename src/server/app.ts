import type { Server } from "node:http";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance, type FastifyServerFactory } from "fastify";
import type { Authenticator } from "../broker/authenticator.js";
import type { BrokerService } from "../broker/broker-service.js";
import type { KitRegistry } from "../broker/kits.js";
import type { PasswordFiles } from "../broker/password-files.js";
import type { BundleExporter } from "../bundle/export-store.js";
import { type AuditRecorder, NO_AUDIT } from "./audit-trail.js";
import { authPlugin } from "./auth.js";
import { answerClientError } from "./client-errors.js";
import { errorHandlerPlugin } from "./error-handler.js";
import { useJsonBodies } from "./json-body.js";
import {
  type BrokerLoggerOptions,
  brokerLoggerOptions,
  deferredChildLoggerFactory,
  OneLinePerRequest,
} from "./logger.js";
import { createMetricsRegistry, metricsPlugin } from "./metrics.js";
import { openApiPlugin } from "./openapi.js";
import { protectionPlugin } from "./protection.js";
import { type RateLimitSettings, rateLimitPlugin, resolveRateLimits } from "./rate-limit.js";
import { castellanRoutes } from "./routes/castellan-routes.js";
import { configRoutes } from "./routes/config-routes.js";
import { exportRoutes } from "./routes/export-routes.js";
import { filesRoutes } from "./routes/files-routes.js";
import { kitRoutes } from "./routes/kit-routes.js";
import { metricsRoutes } from "./routes/metrics-routes.js";
import { opsRoutes } from "./routes/ops-routes.js";
import { passwordsRoutes } from "./routes/passwords-routes.js";
import { type RotationsDeps, rotationRoutes } from "./routes/rotation-routes.js";
import { secretsRoutes } from "./routes/secrets-routes.js";
import { seedRoutes } from "./routes/seed-routes.js";
import { DEFAULT_BODY_LIMIT } from "./schemas.js";

export interface BrokerAppDeps {
  broker: BrokerService;
  auth: Authenticator;
  /** Streams export bundles (POST /v1/export); without it there is no such route. */
  exporter?: BundleExporter;
  /** Renders deployers' passwords files (GET /v1/passwords, ...); without it there are none. */
  passwords?: PasswordFiles;
  /** pino options (redaction is always added), or false for no logging (tests). */
  logger?: BrokerLoggerOptions | false;
  rateLimit?: RateLimitSettings;
  /** Rotations; without them there are no rotation routes. */
  rotations?: RotationsDeps;
  /** The audit log: every lookup, write, seed, rotation, kit and export (none when absent). */
  audit?: AuditRecorder;
  /** Kit records and revocation (GET /v1/kits, revoke); kits are only audited when absent. */
  kits?: KitRegistry;
  /** Readiness for GET /readyz; ready from the start when absent. */
  ready?: () => Promise<boolean>;
}

export interface BrokerAppOptions {
  /** Builds the HTTP(S) server; startBrokerServer passes its TLS one. */
  serverFactory?: FastifyServerFactory<Server>;
}

export type BrokerApp = FastifyInstance;

/** Applied by fastify to its own server, and by startBrokerServer to the TLS one it builds. */
export const SERVER_TIMEOUTS = { keepAliveTimeout: 72_000, requestTimeout: 30_000 } as const;

/** The broker's HTTP API as a fastify instance, not listening (tests call `inject()`). */
export function buildBrokerApp(deps: BrokerAppDeps, options: BrokerAppOptions = {}): BrokerApp {
  const app = Fastify({
    logger: deps.logger === false ? false : brokerLoggerOptions(deps.logger),
    logController: new OneLinePerRequest(),
    // Without a logger fastify makes no children at all.
    ...(deps.logger !== false && { childLoggerFactory: deferredChildLoggerFactory }),
    bodyLimit: DEFAULT_BODY_LIMIT,
    exposeHeadRoutes: false,
    ...SERVER_TIMEOUTS,
    clientErrorHandler: answerClientError,
    // Bodies are exactly what the schema says: no "42" for 42, no silently dropped fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    ...(options.serverFactory ? { serverFactory: options.serverFactory } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.removeContentTypeParser("text/plain"); // JSON in, nothing else
  useJsonBodies(app);
  const limits = resolveRateLimits(deps.rateLimit);
  const registry = createMetricsRegistry();
  const { broker } = deps;
  const audit = deps.audit ?? NO_AUDIT;

  app.register(rateLimitPlugin, limits);
  app.register(errorHandlerPlugin);
  app.register(protectionPlugin);
  app.register(metricsPlugin, { registry });
  app.register(openApiPlugin);
  app.register(opsRoutes, { ready: deps.ready ?? (async () => true) });
  // Every route registered in here, /metrics and /v1, goes through the auth plugin.
  app.register(async (authenticated) => {
    await authenticated.register(authPlugin, {
      authenticator: deps.auth,
      ...(limits.enabled && { failureLimit: limits.authFailure }),
    });
    await authenticated.register(metricsRoutes, { registry });
    await authenticated.register(
      async (v1) => {
        await v1.register(configRoutes, { broker, audit });
        await v1.register(castellanRoutes, { broker, audit });
        await v1.register(filesRoutes, { broker, audit });
        await v1.register(kitRoutes, { broker, audit, ...(deps.kits && { kits: deps.kits }) });
        await v1.register(secretsRoutes, { broker, audit, writeLimit: limits.write });
        await v1.register(seedRoutes, { broker, audit, seedLimit: limits.seed });
        // An export reads the whole deployment: limited like a seed.
        if (deps.exporter) {
          await v1.register(exportRoutes, {
            exporter: deps.exporter,
            audit,
            exportLimit: limits.seed,
          });
        }
        if (deps.rotations) await v1.register(rotationRoutes, { ...deps.rotations, audit });
        if (deps.passwords) {
          await v1.register(passwordsRoutes, {
            passwords: deps.passwords,
            audit,
            exportLimit: limits.seed,
          });
        }
      },
      { prefix: "/v1" },
    );
  });
  return app;
}

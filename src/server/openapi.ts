import swagger, { type FastifyDynamicSwaggerOptions } from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";

/** Security requirement lists for route schemas (any one of them suffices). */
type SecurityRequirement = Record<string, string[]>;
export const OPERATOR_SECURITY: SecurityRequirement[] = [{ operatorToken: [] }, { vaultToken: [] }];
export const SERVICE_SECURITY: SecurityRequirement[] = [
  { clientCertificate: [] },
  ...OPERATOR_SECURITY,
];

const DESCRIPTION = `The strongroom broker: oslo.config-style lookups, the files oslo.config and Castellan
consume natively, secrets metadata and seeding.

Authentication: a service presents its mTLS client certificate (issued by the broker's CA) or
its AppRole Vault token; the operator presents the operator token. Tokens go in
\`Authorization: Bearer <token>\` or \`X-Vault-Token\`; a token, when present, takes precedence
over the certificate. A service may read only its own service's routes (403 otherwise, even for
a service that does not exist); everything else is operator-only.

Errors are \`{"error":{"code":"STRONGROOM_ERR_*","message":"..."}}\`; 5xx answers say
"internal error" and the details go to the broker's log only. Responses carrying values are
\`Cache-Control: no-store\`.`;

type SecurityScheme = NonNullable<
  NonNullable<NonNullable<FastifyDynamicSwaggerOptions["openapi"]>["components"]>["securitySchemes"]
>[string];
// OpenAPI 3.1 has this scheme type; the bundled openapi-types only know 3.0's.
const MUTUAL_TLS = {
  type: "mutualTLS",
  description: "Client certificate issued by the broker's CA",
} as unknown as SecurityScheme;

/** The OpenAPI 3.1 document (GET /docs/json) and its UI (GET /docs). */
export const openApiPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: "3.1.0",
        info: { title: "strongroom broker", version: "1", description: DESCRIPTION },
        tags: [
          { name: "config", description: "oslo.config lookups and the remote_file INI" },
          { name: "castellan", description: "Files for oslo.config's castellan source" },
          { name: "secrets", description: "Secrets metadata, writes and seeding (operator)" },
          {
            name: "rotations",
            description: "Password rotation: plan, start, resume and follow rotations",
          },
          { name: "export", description: "Signed bundles sealed to recipients' keys" },
          { name: "kits", description: "Service kits issued, listed and revoked (operator)" },
          {
            name: "ops",
            description: "Health and readiness (no authentication), metrics (operator)",
          },
        ],
        components: {
          securitySchemes: {
            clientCertificate: MUTUAL_TLS,
            operatorToken: {
              type: "http",
              scheme: "bearer",
              description: "Operator token or a service's AppRole token",
            },
            vaultToken: { type: "apiKey", in: "header", name: "X-Vault-Token" },
          },
        },
      },
    });
    await app.register(swaggerUi, { routePrefix: "/docs", staticCSP: true });
  },
  { name: "strongroom-openapi" },
);

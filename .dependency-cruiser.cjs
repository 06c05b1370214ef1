/**
 * strongroom's import rules: each layer imports only the ones below it, and nothing is circular.
 *
 *   src/cli                              commands and the composition roots (up, import)
 *   src/server                           HTTP API over the core services; its wire.ts (request
 *                                        bodies and answers, TypeBox) is shared with src/cli and
 *                                        loads neither fastify nor the rest of src/server
 *   src/broker  src/rotation  src/bundle the core: siblings, none imports another
 *   drivers/registry.ts                  drivers by name
 *   drivers/<kind>/<name>/               driver implementations
 *   drivers/types.ts                     the ports the core talks to
 *   src/vault  src/state  src/seed  src/embedded-vault
 *   src/config                           the manifest, oslo.config types and rendering
 *   src/lib                              errors, files, crypto, processes, concurrency, the
 *                                        fetch log (broker writes, rotation waits on it)
 *
 * Checked by test/unit/architecture.test.ts; `npx depcruise src drivers` prints the same.
 */
const CORE = "^src/(broker|rotation|bundle)/";
const ABOVE_INFRA = `${CORE}|^src/(server|cli)/|^drivers/`;
const DRIVER_INSIDES = "^drivers/(?!types\\.ts$|registry\\.ts$)";

const layer = (name, from, forbidden, comment) => ({
  name,
  severity: "error",
  comment,
  from: { path: from },
  to: { path: forbidden },
});

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "a cycle means two modules cannot be understood (or changed) apart",
      from: { path: "^(src|drivers)/" },
      to: { circular: true },
    },
    layer(
      "lib-is-the-bottom",
      "^src/lib/",
      "^src/(?!lib/)|^drivers/",
      "src/lib imports nothing of ours",
    ),
    layer(
      "config-imports-only-lib",
      "^src/config/",
      "^src/(?!lib/|config/)|^drivers/",
      "the manifest and oslo model know nothing of Vault, drivers or the broker",
    ),
    layer(
      "infrastructure-stays-below-the-core",
      "^src/(vault|state|seed|embedded-vault)/",
      ABOVE_INFRA,
      "Vault, the state dir, seed inputs and the embedded Vault never import drivers or the core",
    ),
    layer(
      "embedded-vault-stands-alone",
      "^src/embedded-vault/",
      "^src/(?!lib/|embedded-vault/)",
      "the embedded Vault is a server of its own: it shares only src/lib",
    ),
    layer(
      "ports-import-only-the-model",
      "^drivers/types\\.ts$",
      "^src/(?!config/|lib/)|^drivers/(?!types\\.ts$)",
      "the driver contracts depend on the manifest model only",
    ),
    layer(
      "drivers-stay-below-the-core",
      "^drivers/",
      "^src/(broker|rotation|bundle|server|cli|seed|state|embedded-vault)/",
      "a driver uses the ports, the model, src/lib and src/vault, never the core",
    ),
    layer(
      "core-uses-drivers-through-ports",
      CORE,
      `${DRIVER_INSIDES}|^src/(server|cli)/`,
      "the core reaches drivers through drivers/types.ts and the registry only",
    ),
    layer("broker-is-not-rotation", "^src/broker/", "^src/(rotation|bundle)/", "core siblings"),
    layer("rotation-is-not-broker", "^src/rotation/", "^src/(broker|bundle)/", "core siblings"),
    layer("bundle-is-not-broker", "^src/bundle/", "^src/(broker|rotation)/", "core siblings"),
    layer(
      "server-over-core-only",
      "^src/server/",
      "^src/(cli|vault|state|embedded-vault)/|^drivers/",
      "the HTTP layer talks to the core services, never to Vault or drivers",
    ),
    layer(
      "wire-is-plain-data",
      "^src/server/wire\\.ts$",
      "^src/(server|cli)/|node_modules/(fastify|@fastify)/",
      "the shapes the CLI shares with the routes load no HTTP stack",
    ),
    layer("no-tests-in-src", "^(src|drivers)/", "^test/", "test seams live in test/"),
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "\\.d\\.ts$" },
  },
};

/**
 * 10,000 generated requests against a listening broker (plain HTTP, fake broker service and
 * authenticator, rate limits off so requests reach the routes), plus slow clients: no 5xx, no
 * reset, no hang, and 413 for bodies past the limit.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, it } from "vitest";
import { DEFAULT_BODY_LIMIT } from "../../src/server/schemas.js";
import { type RunningBrokerServer, startBrokerServer } from "../../src/server/server.js";
import {
  createFakeAuthenticator,
  createFakeBroker,
  NOVA_TOKEN,
  OPERATOR_TOKEN,
  refusingExporter,
} from "../helpers/fake-broker.js";
import {
  expectSoundUnderFuzz,
  FUZZ_CONNECTION_LIMITS,
  type FuzzRequest,
  type FuzzSpace,
  type FuzzTarget,
  generate,
} from "../helpers/http-fuzz.js";
import { createMemoryRotations } from "../helpers/memory-rotations.js";
import { waitFor } from "../helpers/ports.js";

const REQUESTS = 10_000;

const SPACE: FuzzSpace = {
  methods: ["GET", "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "LIST", "TRACE"],
  prefixes: ["/v1/", "/", "//v1/", "/v1//", "/V1/", "/docs/"],
  words: [
    "config",
    "castellan",
    "files",
    "secrets",
    "seed",
    "export",
    "rotations",
    "metrics",
    "healthz",
    "readyz",
    "nova",
    "neutron",
    "nova.conf",
    "mapping.conf",
    "castellan.conf",
    "database",
    "connection",
    "DEFAULT",
    "NovaPassword",
    "json",
  ],
  routes: [
    "/v1/config/{}",
    "/v1/config/{}/{}/{}",
    "/v1/config/{}.conf",
    "/v1/config/nova/{}/{}",
    "/v1/castellan/{}/mapping.conf",
    "/v1/castellan/{}/castellan.conf",
    "/v1/files/{}",
    "/v1/secrets",
    "/v1/secrets/{}",
    "/v1/seed",
    "/v1/export",
    "/v1/passwords",
    "/v1/passwords/{}",
    "/v1/rotations",
    "/v1/rotations/{}",
    "/metrics",
    "/healthz",
    "/readyz",
    "/docs/{}",
  ],
  fields: ["text", "format", "dryRun", "value", "secret", "service", "passphrase", "plan", "id"],
  credentials: ["operator", "service", "bad"],
  huge: {
    limitBytes: DEFAULT_BODY_LIMIT,
    requests: [
      {
        method: "PUT",
        path: "/v1/secrets/NovaPassword",
        credential: "operator",
        contentType: "application/json",
      },
      {
        method: "POST",
        path: "/v1/rotations",
        credential: "operator",
        contentType: "application/json",
      },
    ],
  },
};

function statusOf(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once("error", reject);
    req.end();
  });
}

let server: RunningBrokerServer;
let target: FuzzTarget;
let requests: FuzzRequest[];

beforeAll(async () => {
  // Before the server starts: generating blocks this (shared) event loop for a while, which the
  // broker's load shedding would answer with 503s.
  requests = generate(SPACE, REQUESTS);
  const { rotations } = await createMemoryRotations("deployment: {name: overcloud}\n", {});
  server = await startBrokerServer({
    deps: {
      broker: createFakeBroker(),
      auth: createFakeAuthenticator(),
      logger: false,
      rateLimit: { enabled: false },
      rotations: { rotations, schedules: () => [] },
      exporter: refusingExporter,
    },
    host: "127.0.0.1",
    port: 0,
    tls: false,
    connectionLimits: FUZZ_CONNECTION_LIMITS,
  });
  // Loading the routes blocks the event loop; on a busy machine for over a second, and the
  // first load-shedding sample then answers 503 until the next one. Fuzz the settled broker.
  await waitFor(async () => (await statusOf(server.port, "/healthz")) === 200, {
    timeoutMs: 15_000,
    intervalMs: 200,
    what: "the broker to stop shedding load after its start",
  });
  target = {
    host: "127.0.0.1",
    port: server.port,
    credentials: {
      operator: { header: "authorization", value: `Bearer ${OPERATOR_TOKEN}` },
      service: { header: "x-vault-token", value: NOVA_TOKEN },
      bad: { header: "authorization", value: "Bearer not-a-token" },
    },
  };
});

afterAll(async () => {
  await server?.close();
});

describe("broker fuzz", () => {
  it(`answers ${REQUESTS} generated requests without a 5xx, a reset or a hang, while slow clients are closed`, async () => {
    await expectSoundUnderFuzz(target, requests, ["200", "400", "401", "404", "413"]);
  });
});

import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent, request as httpsRequest } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningBrokerServer, startBrokerServer } from "../../src/server/server.js";
import {
  createFakeAuthenticator,
  createFakeBroker,
  type FakeAuthenticator,
  NOVA_TOKEN,
  OPERATOR_TOKEN,
} from "../helpers/fake-broker.js";
import { createTestCa, type PemPair } from "../helpers/test-pki.js";

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Client {
  identity?: PemPair;
  headers?: Record<string, string>;
  agent?: Agent;
}

let server: RunningBrokerServer;
let auth: FakeAuthenticator;
let caPem: string;
let nova: PemPair;
let neutron: PemPair;
let strangerNova: PemPair;

const NOVA_OPTION = "/v1/config/nova/database/connection";
const NEUTRON_OPTION = "/v1/config/neutron/database/connection";

function get(path: string, client: Client = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${server.address}${path}`,
      {
        ca: caPem,
        cert: client.identity?.cert,
        key: client.identity?.key,
        headers: client.headers,
        agent: client.agent ?? false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const code = (answer: Answer) => JSON.parse(answer.body).error.code;

beforeAll(async () => {
  const ca = await createTestCa("strongroom test CA");
  const otherCa = await createTestCa("someone else's CA");
  caPem = ca.cert;
  const serverCert = await ca.issue("strongroom broker", "server");
  nova = await ca.issue("nova", "client");
  neutron = await ca.issue("neutron", "client");
  strangerNova = await otherCa.issue("nova", "client");
  auth = createFakeAuthenticator();
  server = await startBrokerServer({
    deps: { broker: createFakeBroker(), auth, logger: false },
    host: "127.0.0.1",
    port: 0,
    tls: { cert: serverCert.cert, key: serverCert.key, ca: ca.cert },
  });
});

afterAll(async () => {
  await server?.close();
});

describe("broker over HTTPS with client certificates", () => {
  it("listens on https", () => {
    expect(server.address).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it("serves a service its own options by its certificate", async () => {
    const answer = await get(NOVA_OPTION, { identity: nova });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({
      type: "string",
      location: { source: "castellan" },
      version: 3,
    });
  });

  it("serves the remote_file INI as text/plain; charset=utf-8 to the service's certificate", async () => {
    const answer = await get("/v1/config/nova.conf", { identity: nova });
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(answer.body).toContain("nova-café-$$");
  });

  it("refuses another service's options with 403", async () => {
    const answer = await get(NEUTRON_OPTION, { identity: nova });
    expect(answer.status).toBe(403);
    expect(code(answer)).toBe("STRONGROOM_ERR_FORBIDDEN");
    expect((await get(NEUTRON_OPTION, { identity: neutron })).status).toBe(200);
  });

  it("answers 401 without a certificate or a token", async () => {
    const answer = await get(NOVA_OPTION);
    expect(answer.status).toBe(401);
    expect(code(answer)).toBe("STRONGROOM_ERR_UNAUTHENTICATED");
  });

  it("does not trust a certificate signed by another CA, whatever its name", async () => {
    const answer = await get(NOVA_OPTION, { identity: strangerNova });
    expect(answer.status).toBe(401);
    expect(code(answer)).toBe("STRONGROOM_ERR_UNAUTHENTICATED");
  });

  it("accepts tokens without a certificate", async () => {
    const bearer = await get(NEUTRON_OPTION, {
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
    });
    expect(bearer.status).toBe(200);
    const vaultToken = await get(NOVA_OPTION, { headers: { "x-vault-token": NOVA_TOKEN } });
    expect(vaultToken.status).toBe(200);
    expect((await get(NEUTRON_OPTION, { headers: { "x-vault-token": NOVA_TOKEN } })).status).toBe(
      403,
    );
  });

  it("lets a bad token fail even with a good certificate", async () => {
    const answer = await get(NOVA_OPTION, {
      identity: nova,
      headers: { authorization: "Bearer nope" },
    });
    expect(answer.status).toBe(401);
  });

  it("maps a connection's certificate to a principal once", async () => {
    const agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: caPem,
      cert: nova.cert,
      key: nova.key,
    });
    try {
      const before = auth.certificateCalls;
      for (let i = 0; i < 3; i++) expect((await get(NOVA_OPTION, { agent })).status).toBe(200);
      expect(auth.certificateCalls - before).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it("serves probes without authentication", async () => {
    expect((await get("/healthz")).status).toBe(200);
    expect((await get("/readyz")).status).toBe(200);
  });
});

describe("plain HTTP, only when asked", () => {
  it("serves tokens over http with tls: false", async () => {
    const plain = await startBrokerServer({
      deps: { broker: createFakeBroker(), auth: createFakeAuthenticator(), logger: false },
      host: "127.0.0.1",
      port: 0,
      tls: false,
    });
    try {
      expect(plain.address).toMatch(/^http:\/\//);
      const status = await new Promise<number>((resolve, reject) => {
        httpRequest(
          `${plain.address}${NOVA_OPTION}`,
          { headers: { "x-vault-token": NOVA_TOKEN } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
          .on("error", reject)
          .end();
      });
      expect(status).toBe(200);
    } finally {
      await plain.close();
    }
  });
});

describe("listening", () => {
  it("says in one line which address is taken and what to do", async () => {
    const first = await startBrokerServer({
      deps: { broker: createFakeBroker(), auth: createFakeAuthenticator(), logger: false },
      host: "127.0.0.1",
      port: 0,
      tls: false,
    });
    try {
      const second = startBrokerServer({
        deps: { broker: createFakeBroker(), auth: createFakeAuthenticator(), logger: false },
        host: "127.0.0.1",
        port: first.port,
        tls: false,
      });
      await expect(second).rejects.toMatchObject({
        code: "STRONGROOM_ERR_CONFIG",
        message: `the broker cannot listen on 127.0.0.1:${first.port}: the address is in use (another strongroom up, or another program); choose another with --listen HOST:PORT`,
      });
    } finally {
      await first.close();
    }
  });
});

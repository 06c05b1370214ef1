/**
 * Requests Node's parser refuses (found by the fuzz suite): fastify's default answer had no
 * `Connection: close`, so a kept-alive client sent its next request into a closed socket and
 * got a reset; and it carried a body after a HEAD, which a client reads as a broken response.
 */
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningBrokerServer, startBrokerServer } from "../../src/server/server.js";
import { createFakeAuthenticator, createFakeBroker } from "../helpers/fake-broker.js";

let server: RunningBrokerServer;

beforeAll(async () => {
  server = await startBrokerServer({
    deps: { broker: createFakeBroker(), auth: createFakeAuthenticator(), logger: false },
    host: "127.0.0.1",
    port: 0,
    tls: false,
  });
});

afterAll(async () => {
  await server?.close();
});

/** Sends raw bytes and returns everything the server wrote before closing. */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: server.port }, () => socket.write(text));
    let answer = "";
    socket.setEncoding("latin1").on("data", (chunk: string) => {
      answer += chunk;
    });
    socket.once("close", () => resolve(answer));
    socket.once("error", reject);
  });
}

function get(agent: Agent, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port: server.port, path, agent }, (res) => {
      res.resume();
      res.once("end", () => resolve(res.statusCode ?? 0));
    });
    req.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

describe("a request the HTTP parser refuses", () => {
  it("gets a typed 400 with Connection: close", async () => {
    const answer = await raw("GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(answer).toContain('"code":"STRONGROOM_ERR_BAD_REQUEST"');
  });

  it("headers past the limit get a typed 431", async () => {
    const answer = await raw(`GET /${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(answer).toContain('"code":"STRONGROOM_ERR_HEADERS_TOO_LARGE"');
  });

  it("after a HEAD, the answer has no body", async () => {
    const answer = await raw("HEAD /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/\r\n\r\n$/);
  });

  it("a kept-alive client's next request is answered, not reset", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // Raw UTF-8 in the request target: node:http sends it, the server's parser refuses it.
      const unicode = Buffer.from("/v1/é", "utf8").toString("latin1");
      expect(await get(agent, unicode)).toBe(400);
      expect(await get(agent, "/healthz")).toBe(200);
    } finally {
      agent.destroy();
    }
  });
});

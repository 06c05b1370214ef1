/**
 * A HEAD request the embedded Vault's HTTP parser refuses (found by the fuzz suite): its answer
 * carried a body, which a client reads as a broken response (HPE_CLOSED_CONNECTION).
 */
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InProcessVault, startInProcessVault } from "../helpers/embedded-vault-http.js";

let vault: InProcessVault;
let port: number;

beforeAll(async () => {
  vault = await startInProcessVault();
  port = Number(new URL(vault.addr).port);
});

afterAll(async () => {
  await vault?.close();
});

function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => socket.write(text));
    let answer = "";
    socket.setEncoding("latin1").on("data", (chunk: string) => {
      answer += chunk;
    });
    socket.once("close", () => resolve(answer));
    socket.once("error", reject);
  });
}

function head(agent: Agent, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, method: "HEAD", agent }, (res) => {
      res.resume();
      res.once("end", () => resolve(res.statusCode ?? 0));
    });
    req.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

describe("embedded Vault: a HEAD request the HTTP parser refuses", () => {
  it("gets its 4xx without a body, and Connection: close", async () => {
    const answer = await raw("HEAD /v1/sys/health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(answer).toMatch(/\r\n\r\n$/);
  });

  it("a client reads the answer and its next request is served", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await head(agent, `/v1/${"a".repeat(20_000)}`)).toBe(431);
      expect(await head(agent, "/v1/sys/health")).toBe(200);
    } finally {
      agent.destroy();
    }
  });
});

/**
 * The operator's client against a stand-in broker over real HTTPS: the state dir's CA and token
 * are used, json()/text() and stream() turn a refusal into the same one-line error, stream()
 * hands over the body as it arrives and its trailers only once it ended complete.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrokerClient, connectBroker } from "../../../src/cli/broker-client.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";
import { createTestCa } from "../../helpers/test-pki.js";

const tempDir = useTempDirs("strongroom-broker-client-");
const TOKEN = "hvs.operator-token-for-the-test";
const CHUNK = Buffer.alloc(64 * 1024, 7);

let server: Server;
let port: number;
let ca: string;
const seenTokens: string[] = [];

function stateDir(url: string): string {
  const dir = tempDir();
  const path = join(dir, "state");
  mkdirSync(path, { mode: 0o700 });
  writeFileSync(join(path, "ca.pem"), ca, { mode: 0o600 });
  writeFileSync(join(path, "operator.token"), `${TOKEN}\n`, { mode: 0o600 });
  const state = {
    version: 1,
    deployment: "overcloud",
    manifest: "/nowhere/manifest.yaml",
    broker: { url, host: "127.0.0.1", port: Number(new URL(url).port) },
    vault: { kind: "embedded", addr: "https://127.0.0.1:1", kvMount: "secret" },
    pid: null,
    updatedAt: new Date().toISOString(),
  };
  writeFileSync(join(path, "state.json"), JSON.stringify(state), { mode: 0o600 });
  return path;
}

const refusal = { error: { code: "STRONGROOM_ERR_NOT_FOUND", message: 'no deployment "edge9"' } };

beforeAll(async () => {
  const testCa = await createTestCa("broker-client test CA");
  ca = testCa.cert;
  const identity = await testCa.issue("127.0.0.1", "server");
  server = createServer({ cert: identity.cert, key: identity.key }, (req, res) => {
    seenTokens.push(String(req.headers.authorization));
    switch (req.url) {
      case "/v1/answer":
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ accept: req.headers.accept }));
        return;
      case "/v1/refused":
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify(refusal));
        return;
      case "/v1/bundle":
        res.writeHead(200, { "content-type": "application/octet-stream", trailer: "x-summary" });
        for (let i = 0; i < 8; i++) res.write(CHUNK);
        res.addTrailers({ "x-summary": JSON.stringify({ bytes: 8 * CHUNK.length }) });
        res.end();
        return;
      case "/v1/cut":
        res.writeHead(200, { "content-type": "application/octet-stream", trailer: "x-summary" });
        res.write(CHUNK, () => res.destroy());
        return;
      default:
        res.writeHead(500);
        res.end("not JSON at all");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const client = (): BrokerClient => connectBroker(stateDir(`https://127.0.0.1:${port}`));

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe("BrokerClient", () => {
  it("json() authenticates with the state dir's operator token over the state dir's CA", async () => {
    seenTokens.length = 0;
    const answer = await client().json<{ accept: string }>("GET", "/v1/answer");
    expect(answer.accept).toMatch(/application\/json/);
    expect(seenTokens).toEqual([`Bearer ${TOKEN}`]);
  });

  it("stream() hands over the body as a stream, and the trailer once it ended", async () => {
    const response = await client().stream(
      "POST",
      "/v1/bundle",
      { recipients: ["x"] },
      {
        accept: "application/octet-stream",
      },
    );
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/octet-stream");
    expect(response.trailer("x-summary")).toBeUndefined();
    const body = await collect(response.body);
    expect(body.length).toBe(8 * CHUNK.length);
    expect(JSON.parse(response.trailer("X-Summary") ?? "null")).toEqual({ bytes: body.length });
  });

  it("stream(): a body the broker cuts short errors, and has no trailer", async () => {
    const response = await client().stream("POST", "/v1/cut");
    await expect(collect(response.body)).rejects.toThrow();
    expect(response.trailer("x-summary")).toBeUndefined();
  });

  it("a refusal is the same one-line error from json(), text() and stream(), exit 2 for a 404", async () => {
    const broker = client();
    const errors = await Promise.all([
      broker.json("GET", "/v1/refused").catch((error: unknown) => error),
      broker.text("GET", "/v1/refused").catch((error: unknown) => error),
      broker.stream("POST", "/v1/refused").catch((error: unknown) => error),
    ]);
    for (const error of errors) {
      expect(error).toMatchObject({ ...refusal.error, exitCode: 2, statusCode: 404 });
    }
    const notJson = await broker.stream("GET", "/v1/other").catch((error: unknown) => error);
    expect(notJson).toMatchObject({
      code: "STRONGROOM_ERR_BROKER",
      message: "the broker answered HTTP 500",
      exitCode: 1,
    });
  });

  it("a broker that does not listen is STRONGROOM_ERR_BROKER_DOWN, from json() and stream()", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const broker = connectBroker(stateDir(`https://127.0.0.1:${deadPort}`));
    for (const attempt of [broker.json("GET", "/readyz"), broker.stream("POST", "/v1/export")]) {
      await expect(attempt).rejects.toMatchObject({
        code: "STRONGROOM_ERR_BROKER_DOWN",
        message: expect.stringMatching(/not reachable \(connection refused\)/),
      });
    }
  });

  it("a state dir without state is STRONGROOM_ERR_NO_STATE", () => {
    expect(() => connectBroker(tempDir())).toThrow(
      expect.objectContaining({ code: "STRONGROOM_ERR_NO_STATE" }),
    );
  });
});

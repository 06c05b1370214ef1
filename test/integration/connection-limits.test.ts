import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedVault } from "../../src/embedded-vault/embedded-vault.js";
import { startVaultHttpServer } from "../../src/embedded-vault/http/http-server.js";
import type { ConnectionLimits } from "../../src/lib/connection-limits.js";
import { loadSodium } from "../../src/lib/sodium.js";
import { startBrokerServer } from "../../src/server/server.js";
import { createFakeAuthenticator, createFakeBroker } from "../helpers/fake-broker.js";
import { createTestCa } from "../helpers/test-pki.js";

const SHORT: Partial<ConnectionLimits> = {
  handshakeTimeoutMs: 400,
  headersTimeoutMs: 400,
  requestTimeoutMs: 800,
  idleTimeoutMs: 400,
};
/** Well past every limit above, and far below any default. */
const CLOSED_WITHIN_MS = 2_500;

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Target {
  host: string;
  port: number;
}

async function vaultServer(limits: Partial<ConnectionLimits>, tls = false): Promise<Target> {
  await loadSodium();
  const vault = await EmbeddedVault.open({ storage: { type: "inmem" } });
  const pair = tls
    ? await (await createTestCa("vault test CA")).issue("127.0.0.1", "server")
    : undefined;
  const server = await startVaultHttpServer({
    host: "127.0.0.1",
    port: 0,
    core: vault.core,
    limits,
    ...(pair && { tls: { cert: Buffer.from(pair.cert), key: Buffer.from(pair.key) } }),
  });
  closers.push(async () => {
    await server.close();
    await vault.close();
  });
  return { host: "127.0.0.1", port: server.port };
}

async function brokerServer(limits: Partial<ConnectionLimits>, tls = false): Promise<Target> {
  const ca = tls ? await createTestCa("broker test CA") : undefined;
  const pair = ca ? await ca.issue("127.0.0.1", "server") : undefined;
  const server = await startBrokerServer({
    deps: { broker: createFakeBroker(), auth: createFakeAuthenticator(), logger: false },
    host: "127.0.0.1",
    port: 0,
    tls: ca && pair ? { cert: pair.cert, key: pair.key, ca: ca.cert } : false,
    connectionLimits: limits,
  });
  closers.push(() => server.close());
  return { host: "127.0.0.1", port: server.port };
}

function open(target: Target, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port, localAddress });
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Milliseconds until the server closes the socket (the client never closes it). */
function closedAfter(socket: Socket, limitMs = CLOSED_WITHIN_MS * 2): Promise<number> {
  const started = Date.now();
  socket.on("error", () => {});
  socket.resume();
  return new Promise((resolve) => {
    const giveUp = setTimeout(() => resolve(Number.POSITIVE_INFINITY), limitMs);
    socket.once("close", () => {
      clearTimeout(giveUp);
      resolve(Date.now() - started);
    });
  });
}

/** Sends a request's headers one byte at a time, every `everyMs`, and never finishes them. */
function trickle(socket: Socket, everyMs: number): void {
  const text = "GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n" + "X-Slow: 1\r\n".repeat(1000);
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) clearInterval(timer);
    else socket.write(text[i++]!);
  }, everyMs);
  socket.once("close", () => clearInterval(timer));
}

function statusOf(target: Target, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: target.host, port: target.port, path, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

const servers = {
  "embedded Vault": { start: vaultServer, path: "/v1/sys/seal-status" },
  broker: { start: brokerServer, path: "/healthz" },
};

describe.each(Object.entries(servers))("%s connection limits", (_name, server) => {
  it("closes a connection that sends nothing", async () => {
    const target = await server.start(SHORT);
    expect(await closedAfter(await open(target))).toBeLessThan(CLOSED_WITHIN_MS);
  });

  it("closes a connection that trickles its headers", async () => {
    const target = await server.start(SHORT);
    const socket = await open(target);
    trickle(socket, 50);
    expect(await closedAfter(socket)).toBeLessThan(CLOSED_WITHIN_MS);
  });

  it("closes a kept-alive connection left idle after an answer", async () => {
    const target = await server.start(SHORT);
    const socket = await open(target);
    socket.write(`GET ${server.path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const answered = new Promise<string>((resolve) =>
      socket.once("data", (c) => resolve(String(c))),
    );
    const closed = closedAfter(socket);
    expect(await answered).toMatch(/^HTTP\/1\.1 200/);
    expect(await closed).toBeLessThan(CLOSED_WITHIN_MS);
  });

  it("refuses connections past the per-address cap, and serves again once they close", async () => {
    const target = await server.start({ maxConnectionsPerAddress: 3 });
    const held = await Promise.all([open(target), open(target), open(target)]);
    const extra = await open(target);
    expect(await closedAfter(extra)).toBeLessThan(CLOSED_WITHIN_MS);
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await statusOf(target, server.path)).toBe(200);
  });

  it("refuses connections past the total cap", async () => {
    const target = await server.start({ maxConnections: 2 });
    const held = await Promise.all([open(target), open(target)]);
    const extra = await open(target);
    expect(await closedAfter(extra)).toBeLessThan(CLOSED_WITHIN_MS);
    for (const socket of held) socket.destroy();
  });

  it("still serves a normal request under short limits", async () => {
    const target = await server.start(SHORT);
    expect(await statusOf(target, server.path)).toBe(200);
  });
});

describe.each(Object.entries(servers))("%s over TLS", (_name, server) => {
  it("closes a connection that never starts its TLS handshake", async () => {
    const target = await server.start(SHORT, true);
    expect(await closedAfter(await open(target))).toBeLessThan(CLOSED_WITHIN_MS);
  });

  it("closes a connection that finishes its handshake and sends nothing", async () => {
    const target = await server.start(SHORT, true);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const tls = tlsConnect({ ...target, rejectUnauthorized: false }, () => resolve(tls));
      tls.once("error", reject);
    });
    expect(await closedAfter(socket)).toBeLessThan(CLOSED_WITHIN_MS);
  });
});

/**
 * The `haproxy` load balancer driver against Debian's HAProxy: two small HTTP servers behind a
 * private HAProxy (test/helpers/haproxy.ts), one of them holding a request open while it is
 * drained.
 */
import { existsSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createHaproxy } from "../../../drivers/load-balancers/haproxy/index.js";
import { describeNeeding } from "../../helpers/describe-needing.js";
import { HAPROXY_PROGRAM, type HaproxyServer, startHaproxy } from "../../helpers/haproxy.js";

/** A server that answers at once, or after `hold` ms for /slow. */
async function backend(name: string): Promise<Server> {
  const server = createServer((req, res) => {
    const answer = () => res.end(`${name}\n`);
    if (req.url === "/slow") setTimeout(answer, 1_500);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

const port = (server: Server) => (server.address() as AddressInfo).port;

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve(body.trim()));
    })
      .once("error", reject)
      .end();
  });
}

describeNeeding(
  "Debian's haproxy",
  existsSync(HAPROXY_PROGRAM) ? undefined : `${HAPROXY_PROGRAM} is missing`,
  "scripts/system-deps.json",
  "the haproxy load balancer",
  () => {
    let lb: HaproxyServer;
    let servers: Server[];

    beforeAll(async () => {
      servers = await Promise.all([backend("a"), backend("b")]);
      lb = await startHaproxy([
        {
          name: "api",
          check: "/",
          servers: [
            { name: "api-0", port: port(servers[0]!) },
            { name: "api-1", port: port(servers[1]!) },
          ],
        },
      ]);
      for (const name of ["api-0", "api-1"]) {
        await lb.waitFor("api", name, (s) => s.status === "UP");
      }
    });

    afterAll(async () => {
      await lb?.stop();
      for (const server of servers ?? []) server.close();
    });

    it("drains a server: waits for its open request, then sends everything to the other", async () => {
      const balancer = createHaproxy({ socket: lb.socket, backend: "api" });
      // Round robin: make sure a slow request is open on api-0.
      const slow: Promise<string>[] = [get(`${lb.url("api")}/slow`), get(`${lb.url("api")}/slow`)];
      await lb.waitFor("api", "api-0", (s) => s.scur > 0);
      const started = Date.now();
      const drained = await balancer.drain("api-0", AbortSignal.timeout(10_000));
      expect(drained).toEqual({ drained: true, detail: "api/api-0 drained" });
      // It waited for the open request (1.5 s from its start).
      expect(Date.now() - started).toBeGreaterThan(200);
      expect((await Promise.all(slow)).sort()).toEqual(["a", "b"]);
      expect((await lb.server("api", "api-0")).status).toBe("DRAIN");
      const answers = await Promise.all(Array.from({ length: 6 }, () => get(lb.url("api"))));
      expect(new Set(answers)).toEqual(new Set(["b"]));

      await balancer.ready("api-0");
      await lb.waitFor("api", "api-0", (s) => s.status === "UP");
      const after = await Promise.all(Array.from({ length: 6 }, () => get(lb.url("api"))));
      expect(new Set(after)).toEqual(new Set(["a", "b"]));
    });

    it("gives up waiting at the drain timeout and says how many sessions were left", async () => {
      const balancer = createHaproxy({ socket: lb.socket, backend: "api" });
      const slow = [get(`${lb.url("api")}/slow`), get(`${lb.url("api")}/slow`)];
      await lb.waitFor("api", "api-1", (s) => s.scur > 0);
      const drained = await balancer.drain("api-1", AbortSignal.timeout(100));
      expect(drained.drained).toBe(false);
      expect(drained.detail).toMatch(/^api\/api-1 still had \d+ session\(s\)$/);
      await Promise.all(slow);
      await balancer.ready("api-1");
      await lb.waitFor("api", "api-1", (s) => s.status === "UP");
    });

    it("refuses to drain the last server up, an unknown server and a bad name", async () => {
      const balancer = createHaproxy({ socket: lb.socket, backend: "api" });
      await lb.setState("api", "api-1", "maint");
      await expect(balancer.drain("api-0", AbortSignal.timeout(5_000))).rejects.toThrow(
        /would leave backend api with no server up/,
      );
      expect((await lb.server("api", "api-0")).status).toMatch(/^UP/);
      await lb.setState("api", "api-1", "ready");
      await lb.waitFor("api", "api-1", (s) => s.status === "UP");
      await expect(balancer.drain("api-9", AbortSignal.timeout(5_000))).rejects.toThrow(
        /no server api\/api-9/,
      );
      await expect(balancer.ready("api-0; shutdown sessions")).rejects.toThrow(
        /invalid server name/,
      );
    });
  },
);

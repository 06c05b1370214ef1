/**
 * The scale-out proof on one machine: strongroom's embedded Vault (`vault-server --storage`,
 * TLS, listening on 0.0.0.0, persistent), `bootstrap`, and three `serve` replicas behind a
 * private HAProxy (Debian's binary; TLS on both sides, so its retries apply).
 *
 * - a write through replica A is served by replica B within the change feed's bound;
 * - under lookup load through HAProxy, replica A is killed (-9) in the middle of a rotation it
 *   started: no lookup fails; the rotation, resumed on replica B once A's lock expired, finishes;
 *   the consumer's restart fetches its config from replica C, and B's rotation sees that fetch
 *   (the shared fetch log) before it counts the consumer as moved.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeNeeding } from "../helpers/describe-needing.js";
import { HAPROXY_PROGRAM, type HaproxyServer, startHaproxy } from "../helpers/haproxy.js";
import { freePort, waitFor } from "../helpers/ports.js";
import {
  type ReplicaSite,
  runStrongroom,
  type ServeReplica,
  serveArgs,
  startReplicaSite,
  startServe,
  type TlsVault,
} from "../helpers/serve-replicas.js";
import { httpsRequest, REPO_ROOT } from "../helpers/strongroom-up.js";
import { rawRequest } from "../helpers/vault-http.js";

const FIXTURES = join(REPO_ROOT, "test", "fixtures", "rotation");
const NODE = process.execPath;
/** What the change feed promises (README "Scale out"): its 1 s period plus one Vault read. */
const WRITE_VISIBLE_BOUND_MS = 2_000;
const LOCK_TTL_SECONDS = 3;

function manifestText(dir: string, consumerUrl: string): string {
  const account = join(dir, "account");
  const kit = (name: string) => join(dir, "out", "identities", name);
  const q = (s: string) => JSON.stringify(s);
  return `deployment:
  name: scale
secrets:
  DemoPassword:
    generator: { kind: alphanumeric, length: 24 }
    target:
      kind: command
      apply: [${q(NODE)}, ${q(join(FIXTURES, "password-file.mjs"))}, apply, ${q(account)}, "60000"]
      verify: [${q(NODE)}, ${q(join(FIXTURES, "password-file.mjs"))}, verify, ${q(account)}]
services:
  demo:
    options:
      DEFAULT:
        password: "{{ secret.DemoPassword }}"
        region: { type: string, default: RegionOne }
    restart:
      kind: command
      command: [${[NODE, join(FIXTURES, "fetch-config.mjs"), consumerUrl, "demo", join(dir, "out", "ca.pem"), kit("demo.pem"), kit("demo.key"), join(dir, "fetches.log")].map(q).join(", ")}]
    health: { kind: command, command: [${q(NODE)}, "-e", "0"] }
    rolling: { timeout_seconds: 60 }
`;
}

interface LoadResult {
  ok: number;
  failed: string[];
}

/** `workers` loops of keep-alive lookups through `url` until `stop` aborts. */
async function lookupLoad(
  url: string,
  ca: Buffer,
  token: string,
  workers: number,
  stop: AbortSignal,
): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failed: [] };
  const agent = new Agent({ keepAlive: true, ca, maxSockets: workers });
  const once = () =>
    new Promise<void>((resolve) => {
      const req = request(
        `${url}/v1/config/demo/DEFAULT/region`,
        { agent, headers: { authorization: `Bearer ${token}` } },
        (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (c: string) => {
            text += c;
          });
          res.on("end", () => {
            if (res.statusCode === 200 && text.includes("RegionOne")) result.ok += 1;
            else result.failed.push(`${res.statusCode} ${text.slice(0, 200)}`);
            resolve();
          });
        },
      );
      req.on("error", (error) => {
        result.failed.push(error.message);
        resolve();
      });
      req.end();
    });
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!stop.aborted) await once();
    }),
  );
  agent.destroy();
  return result;
}

describeNeeding(
  "Debian's haproxy",
  existsSync(HAPROXY_PROGRAM) ? undefined : `${HAPROXY_PROGRAM} is missing`,
  "scripts/system-deps.json",
  "scale-out: one Vault, bootstrap, three serve replicas behind HAProxy",
  () => {
    let site: ReplicaSite | undefined;
    let root: string;
    let vault: TlsVault;
    let lb: HaproxyServer;
    let out: string;
    let ca: Buffer;
    let token: string;
    const replicas: ServeReplica[] = [];
    let lbUrl: string;

    beforeAll(async () => {
      let ports: number[] = [];
      site = await startReplicaSite(
        "strongroom-scale-",
        async (dir) => {
          ports = [await freePort(), await freePort(), await freePort()];
          // The consumer's restart fetches from replica C (index 2), never the one rotating.
          return manifestText(dir, `https://127.0.0.1:${ports[2]}`);
        },
        { listenHost: "0.0.0.0" },
      );
      ({ root, vault, out } = site);
      const { manifest } = site;
      ca = readFileSync(join(out, "ca.pem"));
      token = readFileSync(join(out, "operator-token"), "utf8").trim();
      for (const port of ports) {
        const args = serveArgs(vault, manifest, out, `127.0.0.1:${port}`);
        replicas.push(await startServe([...args, "--rotation-lock-ttl", String(LOCK_TTL_SECONDS)]));
      }
      const frontendPem = join(root, "haproxy.pem");
      writeFileSync(
        frontendPem,
        `${readFileSync(join(out, "server.pem"), "utf8").trim()}\n${readFileSync(join(out, "server.key"), "utf8").trim()}\n`,
        { mode: 0o600 },
      );
      lb = await startHaproxy([
        {
          name: "broker",
          check: "/healthz",
          servers: ports.map((port, i) => ({ name: `replica-${i}`, port })),
          tls: { frontendPem, serversCa: join(out, "ca.pem") },
        },
      ]);
      for (let i = 0; i < ports.length; i++) {
        await lb.waitFor("broker", `replica-${i}`, (s) => s.status === "UP", {
          timeoutMs: 20_000,
        });
      }
      lbUrl = `https://127.0.0.1:${lb.ports.get("broker")}`;
      const first = await httpsRequest(`${replicas[0]!.url}/v1/secrets/DemoPassword`, {
        ca,
        token,
        method: "PUT",
        body: { value: "initial-value-0001" },
      });
      expect(first.status, first.text).toBe(200);
      // The "account" accepts the value the store holds, as a real target would.
      const { createHash } = await import("node:crypto");
      writeFileSync(
        join(root, "account"),
        createHash("sha256").update("initial-value-0001").digest("hex"),
      );
    }, 180_000);

    afterAll(async () => {
      for (const replica of replicas) await replica.stop().catch(() => undefined);
      await lb?.stop();
      await site?.remove();
    });

    it("the embedded Vault serves TLS on 0.0.0.0; plain HTTP on a non-loopback address is refused", async () => {
      const health = await httpsRequest(`${vault.addr}/v1/sys/health`, { ca: vault.ca });
      expect(health.status).toBe(200);
      const plain = await runStrongroom([
        ...["vault-server", "--storage", join(root, "never"), "--listen", "0.0.0.0:0"],
      ]);
      expect(plain.code).toBe(2);
      expect(plain.stderr).toMatch(/^STRONGROOM_ERR_USAGE: refusing plain HTTP on 0\.0\.0\.0/);
      expect(existsSync(join(root, "never"))).toBe(false);
    });

    it("a write through replica A is served by replica B within the change feed's bound", async () => {
      const [a, b] = replicas as [ServeReplica, ServeReplica];
      const read = async (replica: ServeReplica) => {
        const answer = await httpsRequest(`${replica.url}/v1/config/demo/DEFAULT/password`, {
          ca,
          token,
        });
        return JSON.parse(answer.text).value as string;
      };
      // B has the current value cached.
      expect(await read(b)).toBe("initial-value-0001");
      expect(await read(b)).toBe("initial-value-0001");
      const put = await httpsRequest(`${a.url}/v1/secrets/DemoPassword`, {
        ca,
        token,
        method: "PUT",
        body: { value: "written-through-a-0002" },
      });
      expect(put.status, put.text).toBe(200);
      const written = Date.now();
      await waitFor(async () => (await read(b)) === "written-through-a-0002", {
        timeoutMs: 10_000,
        intervalMs: 20,
        what: "replica B to serve the write made through A",
      });
      const delay = Date.now() - written;
      console.info(`scale-out: a write through A served by B after ${delay} ms`);
      expect(delay).toBeLessThanOrEqual(WRITE_VISIBLE_BOUND_MS);
      // The account follows the store, as after any operator write.
      const { createHash } = await import("node:crypto");
      writeFileSync(
        join(root, "account"),
        createHash("sha256").update("written-through-a-0002").digest("hex"),
      );
    }, 60_000);

    it("under lookup load through HAProxy, replica A is killed -9 mid-rotation: 0 failed lookups; the rotation resumes on B and confirms the consumer's fetch from C", async () => {
      const [a, b, c] = replicas as [ServeReplica, ServeReplica, ServeReplica];
      const stop = new AbortController();
      const load = lookupLoad(lbUrl, ca, token, 8, stop.signal);

      const started = await httpsRequest(`${a.url}/v1/rotations`, {
        ca,
        token,
        method: "POST",
        body: { secrets: ["DemoPassword"] },
      });
      expect(started.status, started.text).toBe(202);
      const id = JSON.parse(started.text).rotations[0].id as string;
      // A is inside the target's apply hook (it holds there): kill it and its hook.
      await waitFor(async () => existsSync(join(root, "account.applying")), {
        timeoutMs: 20_000,
        what: "the apply hook to start on A",
      });
      await new Promise((r) => setTimeout(r, 500));
      await a.kill9();
      const killedAt = Date.now();

      // B refuses to resume while A's lock is still valid, then takes it over.
      let resumed: { status: number; text: string } | undefined;
      await waitFor(
        async () => {
          resumed = await httpsRequest(`${b.url}/v1/rotations`, {
            ca,
            token,
            method: "POST",
            body: { resume: id },
          });
          if (resumed.status === 409) {
            expect(JSON.parse(resumed.text).error.code).toBe("STRONGROOM_ERR_ROTATION_LOCKED");
            return false;
          }
          return true;
        },
        { timeoutMs: (LOCK_TTL_SECONDS + 10) * 1000, intervalMs: 250, what: "B to resume" },
      );
      expect(resumed!.status, resumed!.text).toBe(202);
      console.info(`scale-out: B resumed ${Date.now() - killedAt} ms after A was killed`);

      let view: Record<string, unknown> = {};
      await waitFor(
        async () => {
          const answer = await httpsRequest(`${b.url}/v1/rotations/${id}`, { ca, token });
          view = JSON.parse(answer.text);
          return view.status === "done" || view.status === "failed";
        },
        { timeoutMs: 90_000, intervalMs: 250, what: "the rotation to finish on B" },
      );
      stop.abort();
      const lookups = await load;

      expect(view, JSON.stringify(view)).toMatchObject({ status: "done", restarted: ["demo"] });
      const fetched = (view.fetched as Record<string, string>).demo!;
      expect(fetched).toMatch(/fetched by demo \(certificate\)/);
      // The consumer fetched from C only.
      const consumerLog = readFileSync(join(root, "fetches.log"), "utf8");
      expect(consumerLog.trim().split("\n")).toEqual([`${c.url} 200`]);
      // C shared that fetch through Vault (B's own log never saw it); no other replica wrote one.
      const shared = await rawRequest(vault.addr, {
        path: "/v1/secret/metadata/strongroom/scale/fetches/demo?list=true",
        token: vault.rootToken,
        ca: vault.ca,
      });
      expect(shared.json?.data?.keys).toHaveLength(1);

      console.info(
        `scale-out: ${lookups.ok} lookups through HAProxy, ${lookups.failed.length} failed`,
      );
      expect(lookups.failed).toEqual([]);
      expect(lookups.ok).toBeGreaterThan(100);

      // Every live replica serves the rotated value.
      const values = await Promise.all(
        [b, c].map(async (replica) => {
          const answer = await httpsRequest(`${replica.url}/v1/config/demo/DEFAULT/password`, {
            ca,
            token,
          });
          return JSON.parse(answer.text).value as string;
        }),
      );
      expect(values[0]).not.toBe("written-through-a-0002");
      expect(values[1]).toBe(values[0]);
    }, 180_000);
  },
);

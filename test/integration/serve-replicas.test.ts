/**
 * Two `serve` replicas of one deployment on strongroom's embedded Vault (TLS, persistent,
 * bootstrapped): bundles they export at the same time through POST /v1/export never share a
 * sequence number (one counter in Vault, check-and-set), and a replica started with
 * --audit-syslog (here from STRONGROOM_AUDIT_SYSLOG) sends its audit records to a UDP syslog
 * listener of the test as RFC 5424 lines, still writing them on stdout.
 */
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePublicKey, generateBundleKeyPair } from "../../src/bundle/keys.js";
import { EXPORT_SUMMARY_TRAILER } from "../../src/server/wire.js";
import { DEPLOYMENT_KEYS } from "../../src/vault/kv-layout.js";
import { createVaultRecordStore } from "../../src/vault/record-store.js";
import { createVaultClient } from "../../src/vault/vault-client.js";
import { waitFor } from "../helpers/ports.js";
import {
  demoManifest,
  type ReplicaSite,
  type ServeReplica,
  serveArgs,
  startReplicaSite,
  startServe,
  type TlsVault,
} from "../helpers/serve-replicas.js";
import { httpsRequest } from "../helpers/strongroom-up.js";

const MANIFEST = demoManifest("replicas");
/** Exports per replica: the broker's export rate limit (10 a minute per client address). */
const EXPORTS_PER_REPLICA = 10;

describe("two serve replicas on one Vault", () => {
  let site: ReplicaSite | undefined;
  let vault: TlsVault;
  let out: string;
  let replicas: ServeReplica[] = [];
  const syslog = createSocket("udp4");
  const syslogMessages: string[] = [];

  beforeAll(async () => {
    site = await startReplicaSite("strongroom-replicas-", () => MANIFEST);
    ({ vault, out } = site);
    const { manifest } = site;
    syslog.on("message", (message) => syslogMessages.push(message.toString("utf8")));
    await new Promise<void>((resolve) => syslog.bind(0, "127.0.0.1", resolve));
    const args = serveArgs(vault, manifest, out, "127.0.0.1:0");
    replicas = await Promise.all([
      startServe(args),
      startServe(args, {
        env: { STRONGROOM_AUDIT_SYSLOG: `127.0.0.1:${syslog.address().port}` },
      }),
    ]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    syslog.close();
    await site?.remove();
  });

  const ca = () => readFileSync(join(out, "ca.pem"));
  const operatorToken = () => readFileSync(join(out, "operator-token"), "utf8").trim();

  /** POST /v1/export; the sequence from the summary trailer a complete bundle ends with. */
  function exportSequence(replica: ServeReplica, recipient: string): Promise<number> {
    const body = Buffer.from(JSON.stringify({ recipients: [recipient] }));
    return new Promise((resolve, reject) => {
      const req = request(
        `${replica.url}/v1/export`,
        {
          method: "POST",
          ca: ca(),
          headers: {
            authorization: `Bearer ${operatorToken()}`,
            "content-type": "application/json",
            "content-length": body.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const summary = res.trailers[EXPORT_SUMMARY_TRAILER];
            if (res.statusCode !== 200 || !summary) {
              reject(new Error(`export: ${res.statusCode} ${Buffer.concat(chunks).toString()}`));
            } else {
              resolve((JSON.parse(summary) as { sequence: number }).sequence);
            }
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  it(`${EXPORTS_PER_REPLICA} exports on each replica, both replicas at once: every sequence number once, each replica's increasing`, async () => {
    // The counter far ahead of the clock (as after the clock stepped back): the clock floor
    // cannot keep the replicas apart, only the counter can.
    const base = Date.now() + 1e9;
    const admin = createVaultRecordStore({
      client: createVaultClient({ addr: vault.addr, token: vault.rootToken, ca: vault.ca }),
      deployment: "replicas",
    });
    await admin.write(DEPLOYMENT_KEYS.bundleSequence, { sequence: base });
    const recipient = encodePublicKey(await generateBundleKeyPair());

    const half = EXPORTS_PER_REPLICA / 2;
    // Half at once on each replica (both replicas at once too), then half one after another on
    // each (still both at once): the order a replica answered in is the order it drew in.
    const together = await Promise.all(
      replicas.map((replica) =>
        Promise.all(Array.from({ length: half }, () => exportSequence(replica, recipient))),
      ),
    );
    const inTurn = await Promise.all(
      replicas.map(async (replica) => {
        const drawn: number[] = [];
        for (let i = 0; i < half; i++) drawn.push(await exportSequence(replica, recipient));
        return drawn;
      }),
    );
    for (const drawn of inTurn) expect(drawn).toEqual([...drawn].sort((x, y) => x - y));
    for (const [i, drawn] of inTurn.entries()) {
      expect(Math.min(...drawn)).toBeGreaterThan(Math.max(...together[i]!));
    }
    const all = [...together.flat(), ...inTurn.flat()].sort((x, y) => x - y);
    expect(all).toEqual(
      Array.from({ length: replicas.length * EXPORTS_PER_REPLICA }, (_, i) => base + 1 + i),
    );
    // The audit records on stdout name the same numbers, per replica (the pipe may lag a little).
    for (const [i, replica] of replicas.entries()) {
      const audited = () =>
        replica
          .records()
          .map((r) => r.audit as { event?: string; sequence?: number } | undefined)
          .filter((a) => a?.event === "export")
          .map((a) => a!.sequence!)
          .sort((x, y) => x - y);
      await waitFor(async () => audited().length >= EXPORTS_PER_REPLICA, {
        timeoutMs: 5_000,
        intervalMs: 50,
        what: "the export audit records",
      });
      expect(audited()).toEqual([...together[i]!, ...inTurn[i]!].sort((x, y) => x - y));
    }
  }, 120_000);

  it("--audit-syslog (from STRONGROOM_AUDIT_SYSLOG): a lookup's audit record reaches the syslog listener as RFC 5424, and stdout still has it", async () => {
    const withSyslog = replicas[1]!;
    const identity = {
      cert: readFileSync(join(out, "identities", "demo.pem")),
      key: readFileSync(join(out, "identities", "demo.key")),
    };
    const answer = await httpsRequest(`${withSyslog.url}/v1/config/demo/DEFAULT/region`, {
      ca: ca(),
      ...identity,
    });
    expect(answer.status, answer.text).toBe(200);
    const lookupLine = /^<110>1 \S+ \S+ strongroom \d+ lookup - (\{.*\})$/;
    await waitFor(async () => syslogMessages.some((m) => lookupLine.test(m)), {
      timeoutMs: 5_000,
      intervalMs: 50,
      what: "the lookup's syslog message",
    });
    const record = JSON.parse(
      syslogMessages.find((m) => lookupLine.test(m))!.match(lookupLine)![1]!,
    );
    expect(record).toMatchObject({
      event: "lookup",
      identity: "service:demo",
      service: "demo",
      replica: expect.stringMatching(/:\d+$/),
    });
    expect(syslogMessages.some((m) => / broker-start - /.test(m))).toBe(true);
    const onStdout = withSyslog.records().filter((r) => r.msg === "audit");
    expect(onStdout.map((r) => r.audit)).toContainEqual(record);
    // The replica without the flag sent nothing: every message names the one with it.
    const pid = String(withSyslog.child.pid);
    expect(syslogMessages.every((m) => m.split(" ")[4] === pid)).toBe(true);
  }, 60_000);
});

/**
 * A rotation schedule on two `serve` replicas of one deployment (strongroom's embedded Vault,
 * TLS, persistent, bootstrapped): both replicas fire every run and the secret is rotated once
 * per run cluster-wide, and no run is lost to the check of when the secret was last written
 * (the Vault dates versions in whole seconds). The schedule is due every second, so the
 * replicas race on every run. Here the other replica mostly finds the lock taken; the case of a
 * replica firing after the run's rotation finished is provoked in
 * test/unit/rotation/rotation-schedule.test.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Static } from "typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RotationListAnswer } from "../../src/server/wire.js";
import { everySecondSchedule } from "../helpers/every-second-schedule.js";
import {
  type ReplicaSite,
  type ServeReplica,
  serveArgs,
  startReplicaSite,
  startServe,
} from "../helpers/serve-replicas.js";
import { httpsRequest } from "../helpers/strongroom-up.js";

const MANIFEST = everySecondSchedule("sched");

describe("a rotation schedule on two serve replicas", () => {
  let site: ReplicaSite | undefined;
  let replicas: ServeReplica[] = [];

  beforeAll(async () => {
    site = await startReplicaSite("strongroom-serve-schedules-", () => MANIFEST);
    const args = serveArgs(site.vault, site.manifest, site.out, "127.0.0.1:0");
    replicas = await Promise.all([startServe(args), startServe(args)]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await site?.remove();
  });

  const operator = () => ({
    ca: readFileSync(join(site!.out, "ca.pem")),
    token: readFileSync(join(site!.out, "operator-token"), "utf8").trim(),
  });
  const scheduled = (replica: ServeReplica, msg: string) =>
    replica.records().filter((r) => r.msg === msg && r.secret === "AppPassword").length;

  it("both replicas fire every run; each run rotates AppPassword once", async () => {
    const seeded = await httpsRequest(`${replicas[0]!.url}/v1/seed`, {
      ...operator(),
      method: "POST",
      body: { text: "AppPassword: first-value-0123\n", file: "seed.yaml" },
    });
    expect(seeded.status, seeded.text).toBe(200);
    await new Promise((r) => setTimeout(r, 5_000));
    const answer = await httpsRequest(`${replicas[1]!.url}/v1/rotations`, operator());
    expect(answer.status, answer.text).toBe(200);
    const { rotations } = JSON.parse(answer.text) as Static<typeof RotationListAnswer>;
    const runs = rotations.map((r) => r.createdAt.slice(0, 19));
    // A run every second for 5 s, rotations of a secret without consumers taking well under one.
    expect(runs.length, "rotations in 5 s").toBeGreaterThanOrEqual(3);
    expect(new Set(runs).size, `one rotation per second: ${runs.join(", ")}`).toBe(runs.length);
    const started = replicas.map((r) => scheduled(r, "scheduled rotation started"));
    const declined = replicas.map(
      (r) =>
        scheduled(r, "scheduled rotation already done by another broker") +
        scheduled(r, "scheduled rotation not started"),
    );
    expect(started[0]! + started[1]!).toBeGreaterThanOrEqual(runs.length);
    // Each replica fired on the runs the other one rotated.
    expect(started[0]! + declined[0]!).toBeGreaterThanOrEqual(runs.length - 1);
    expect(started[1]! + declined[1]!).toBeGreaterThanOrEqual(runs.length - 1);
  }, 60_000);
});

/**
 * Instances, load balancers and fetch confirmation in a rollout: a service with instances
 * restarts one unit per instance, each drained first and put back only once it is healthy and
 * fetched its config. The load balancer here is a small driver that writes a journal (the real
 * HAProxy one is tested in test/integration/load-balancers/haproxy.test.ts); restarts are the
 * real `command` restarter.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createDriverRegistry } from "../../../drivers/registry.js";
import type { LoadBalancerDriver } from "../../../drivers/types.js";
import { parseManifest } from "../../../src/config/manifest.js";
import {
  consumerPlansOf,
  type FetchCheck,
  rollingRestart,
} from "../../../src/rotation/rolling-restart.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("rolling-instances-");

const manifestText = (dir: string, extra = "") => `
deployment: {name: site}
secrets: {ApiPassword: {}}
services:
  api:
    options:
      DEFAULT: {password: "{{ secret.ApiPassword }}"}
    instances:
      - {name: api-0, port: 8001}
      - {name: api-1, port: 8002}
    restart:
      kind: command
      command: [sh, -c, 'echo "restart $0 $1" >> "${dir}/journal"', "{instance}", "{instance.port}"]
    load_balancer: {kind: journal, backend: api, server: "{instance}"}
    rolling: {timeout_seconds: 30${extra}}
`;

function journalBalancer(dir: string, refuse?: string): LoadBalancerDriver {
  const note = (line: string) => appendFileSync(join(dir, "journal"), `${line}\n`);
  return {
    kind: "load-balancer",
    name: "journal",
    create: (stanza) => ({
      driver: "journal",
      async drain(server) {
        if (server === refuse)
          throw new Error(`no other server of ${String(stanza["backend"])} is up`);
        note(`drain ${server}`);
        return { drained: true, detail: `${server} drained` };
      },
      async ready(server) {
        note(`ready ${server}`);
      },
    }),
  };
}

const journal = (dir: string) =>
  existsSync(join(dir, "journal"))
    ? readFileSync(join(dir, "journal"), "utf8").trim().split("\n")
    : [];

async function roll(dir: string, options: { refuse?: string; fetch?: FetchCheck } = {}) {
  const manifest = parseManifest(manifestText(dir), join(dir, "m.yaml"));
  const registry = createDriverRegistry();
  registry.register(journalBalancer(dir, options.refuse));
  const recorded: Array<[string, string | undefined]> = [];
  const result = await rollingRestart({
    consumers: consumerPlansOf(manifest.services.get("api")!),
    alreadyDone: new Set(),
    registry,
    maxParallel: 1,
    ...(options.fetch && { confirmFetch: options.fetch }),
    onRestarted: async (unit, detail) => {
      recorded.push([unit, detail?.fetched]);
    },
  });
  return { result, recorded };
}

describe("a service with instances", () => {
  it("becomes one unit per instance, with {instance} and {instance.KEY} filled in", () => {
    const dir = tempDir();
    const manifest = parseManifest(manifestText(dir), join(dir, "m.yaml"));
    const plans = consumerPlansOf(manifest.services.get("api")!);
    expect(plans.map((p) => p.unit)).toEqual(["api/api-0", "api/api-1"]);
    expect(plans[1]!.restart!["command"]).toEqual([
      "sh",
      "-c",
      expect.stringContaining("restart"),
      "api-1",
      "8002",
    ]);
    expect(plans[0]!.loadBalancer).toMatchObject({ server: "api-0", backend: "api" });
  });

  it("drains, restarts, confirms the fetch and puts back each instance before the next", async () => {
    const dir = tempDir();
    const fetch: FetchCheck = async (plan) => {
      appendFileSync(join(dir, "journal"), `fetched ${plan.instance}\n`);
      return { ok: true, detail: `ini fetched by ${plan.service}` };
    };
    const { result, recorded } = await roll(dir, { fetch });
    expect(result).toEqual({ ok: true, restarted: ["api/api-0", "api/api-1"] });
    expect(journal(dir)).toEqual([
      "drain api-0",
      "restart api-0 8001",
      "fetched api-0",
      "ready api-0",
      "drain api-1",
      "restart api-1 8002",
      "fetched api-1",
      "ready api-1",
    ]);
    expect(recorded).toEqual([
      ["api/api-0", "ini fetched by api"],
      ["api/api-1", "ini fetched by api"],
    ]);
  });

  it("stops at an instance that did not fetch: it stays drained, the next one is untouched", async () => {
    const dir = tempDir();
    const fetch: FetchCheck = async (plan) =>
      plan.instance === "api-0"
        ? { ok: false, reason: "restarted, but api fetched no config" }
        : { ok: true, detail: "fetched" };
    const { result } = await roll(dir, { fetch });
    expect(result).toMatchObject({
      ok: false,
      restarted: [],
      failed: { service: "api/api-0", reason: "restarted, but api fetched no config" },
      notStarted: ["api/api-1"],
    });
    expect(journal(dir)).toEqual(["drain api-0", "restart api-0 8001"]);
  });

  it("does not restart an instance its load balancer refuses to drain", async () => {
    const dir = tempDir();
    const { result } = await roll(dir, { refuse: "api-0" });
    expect(result).toMatchObject({
      ok: false,
      failed: {
        service: "api/api-0",
        reason: expect.stringMatching(/^drain refused: no other server/),
      },
    });
    expect(journal(dir)).toEqual([]);
  });

  it("needs instances for a load balancer, and names a duplicate instance", () => {
    const problems = (text: string) => {
      try {
        parseManifest(text, "m.yaml");
        return "";
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(
      problems(
        "deployment: {name: s}\nservices:\n  api:\n    load_balancer: {kind: haproxy, socket: /s, backend: b, server: x}\n",
      ),
    ).toMatch(/a load balancer needs "instances"/);
    expect(
      problems("deployment: {name: s}\nservices:\n  api:\n    instances: [{name: a}, {name: a}]\n"),
    ).toMatch(/instance "a" is listed twice/);
    expect(
      problems(
        "deployment: {name: s}\nservices:\n  api:\n    load_balancer: {kind: haproxy, backend: b, server: x}\n    instances: [{name: a}]\n",
      ),
    ).toMatch(/socket/);
  });
});

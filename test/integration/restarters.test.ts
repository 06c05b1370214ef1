/**
 * Restarters and health checks against real processes: test/fixtures/restarters/service.mjs
 * is a service (pid file, HTTP health after a warm-up, SIGHUP journal) and restart.mjs its
 * restart command (stop by pid file, start a new one detached), driven by the real `command`
 * restarter and the http / tcp / command health checks through the rolling executor.
 *
 * The one stand-in: systemd cannot run in this container, so the `systemd` restarter test puts
 * a fake `systemctl` script first on PATH; it records its argv and answers like systemctl.
 */
import { spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createDriverRegistry } from "../../drivers/registry.js";
import type { HealthCheck, RollingPolicy } from "../../src/config/manifest-types.js";
import {
  type ConsumerPlan,
  type RollingRestartOptions,
  rollingRestart,
} from "../../src/rotation/rolling-restart.js";
import { waitHealthy } from "../../src/rotation/wait-healthy.js";
import { runsCommand } from "../helpers/own-process.js";
import { freePort, waitFor } from "../helpers/ports.js";
import { useTempDirs } from "../helpers/temp-dirs.js";
import { createTestCa } from "../helpers/test-pki.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/restarters/", import.meta.url));
const SERVICE = join(FIXTURES, "service.mjs");
const RESTART = join(FIXTURES, "restart.mjs");
const ROLLING: RollingPolicy = {
  maxParallel: 1,
  pauseSeconds: 0,
  timeoutSeconds: 60,
  confirmFetch: false,
};

const tempDir = useTempDirs("restarters-");
const started: { dir: string; name: string }[] = [];
const closers: (() => void)[] = [];

afterEach(() => {
  for (const { dir, name } of started.splice(0)) {
    const pid = pidOf(dir, name);
    if (!runsCommand(pid, ["service.mjs", dir, name])) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  for (const close of closers.splice(0)) close();
});

interface ServiceConfig {
  port: number;
  delayMs: number;
  status: number;
}

const pidOf = (dir: string, name: string) => Number(readFileSync(join(dir, `${name}.pid`), "utf8"));
const configure = (dir: string, name: string, config: ServiceConfig) =>
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(config));
const journal = (dir: string) =>
  existsSync(join(dir, "restarts.log"))
    ? readFileSync(join(dir, "restarts.log"), "utf8").trim().split("\n")
    : [];

async function answers(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/`)).status > 0;
  } catch {
    return false;
  }
}

/** Starts NAME (healthy, 200) and waits until it answers; returns its port. */
async function startService(dir: string, name: string, delayMs = 300): Promise<number> {
  const port = await freePort();
  configure(dir, name, { port, delayMs, status: 200 });
  spawn(process.execPath, [SERVICE, dir, name], { detached: true, stdio: "ignore" }).unref();
  started.push({ dir, name });
  await waitFor(() => answers(port), { what: `${name} to answer`, timeoutMs: 20_000 });
  return port;
}

const httpHealth = (port: number, overrides: Partial<HealthCheck> = {}): HealthCheck => ({
  kind: "http",
  url: `http://127.0.0.1:${port}/`,
  timeoutSeconds: 5,
  retries: 100,
  intervalSeconds: 0.1,
  ...overrides,
});

const plan = (dir: string, service: string, health?: HealthCheck): ConsumerPlan => ({
  service,
  restart: { kind: "command", command: [process.execPath, RESTART, dir, "{service}"] },
  ...(health && { health }),
  rolling: ROLLING,
});

function restartAll(overrides: Partial<RollingRestartOptions>) {
  const events: string[] = [];
  const result = rollingRestart({
    consumers: [],
    alreadyDone: new Set(),
    registry: createDriverRegistry(),
    maxParallel: 1,
    stepTimeoutMs: 60_000,
    onRestarted: async () => undefined,
    log: (event, fields) => events.push(`${event} ${String(fields["service"] ?? "")}`),
    ...overrides,
  });
  return { result, events };
}

describe("the command restarter with health checks, on real processes", () => {
  it("replaces every consumer's process, at most maxParallel at once, each checked healthy", async () => {
    const dir = tempDir();
    const names = ["alpha", "bravo", "charlie"];
    const ports = await Promise.all(names.map((name) => startService(dir, name)));
    const before = names.map((name) => pidOf(dir, name));
    const consumers = names.map((name, i) => plan(dir, name, httpHealth(ports[i]!)));
    const { result, events } = restartAll({ consumers, maxParallel: 2 });

    expect(await result).toEqual({ ok: true, restarted: names });
    for (const [i, name] of names.entries()) expect(pidOf(dir, name)).not.toBe(before[i]);
    for (const port of ports) expect(await answers(port)).toBe(true);
    expect(events.filter((e) => e.startsWith("restart.healthy"))).toHaveLength(3);
    // The restart command's own journal: charlie starts only after both of the first batch end.
    const lines = journal(dir);
    expect(lines.indexOf("start charlie")).toBeGreaterThan(lines.indexOf("end alpha"));
    expect(lines.indexOf("start charlie")).toBeGreaterThan(lines.indexOf("end bravo"));
  });

  it("observes a restarted service with tcp and command health checks", async () => {
    const dir = tempDir();
    const tcpPort = await startService(dir, "tcp-svc");
    const commandPort = await startService(dir, "cmd-svc");
    const probe = `require("node:net").connect(${commandPort}, "127.0.0.1").on("connect", () => process.exit(0)).on("error", () => process.exit(1))`;
    const timing = { timeoutSeconds: 5, retries: 100, intervalSeconds: 0.1 };
    const consumers = [
      plan(dir, "tcp-svc", { kind: "tcp", host: "127.0.0.1", port: tcpPort, ...timing }),
      plan(dir, "cmd-svc", {
        kind: "command",
        command: [process.execPath, "-e", probe],
        ...timing,
      }),
    ];
    expect(await restartAll({ consumers }).result).toEqual({
      ok: true,
      restarted: ["tcp-svc", "cmd-svc"],
    });
    expect(journal(dir)).toEqual(["start tcp-svc", "end tcp-svc", "start cmd-svc", "end cmd-svc"]);
  });

  it("stops the rollout at a service its restart left unhealthy; the later ones are not started", async () => {
    const dir = tempDir();
    const names = ["alpha", "bravo", "charlie"];
    const ports = await Promise.all(names.map((name) => startService(dir, name)));
    // bravo's next process answers 503: its new configuration is broken.
    configure(dir, "bravo", { port: ports[1]!, delayMs: 0, status: 503 });
    const charlie = pidOf(dir, "charlie");
    const consumers = names.map((name, i) =>
      plan(dir, name, httpHealth(ports[i]!, { retries: 25, intervalSeconds: 0.2 })),
    );
    const result = await restartAll({ consumers }).result;

    expect(result).toEqual({
      ok: false,
      restarted: ["alpha"],
      failed: {
        service: "bravo",
        reason: `unhealthy after 26 attempt(s): HTTP 503 from http://127.0.0.1:${ports[1]}/ (expected 200)`,
      },
      notStarted: ["charlie"],
    });
    expect(journal(dir)).not.toContain("start charlie");
    expect(pidOf(dir, "charlie")).toBe(charlie);
  });

  it("skips the services restarted before a crash", async () => {
    const dir = tempDir();
    const alphaPort = await startService(dir, "alpha");
    const bravoPort = await startService(dir, "bravo");
    const alpha = pidOf(dir, "alpha");
    const consumers = [
      plan(dir, "alpha", httpHealth(alphaPort)),
      plan(dir, "bravo", httpHealth(bravoPort)),
    ];
    const { result } = restartAll({ consumers, alreadyDone: new Set(["alpha"]) });
    expect(await result).toEqual({ ok: true, restarted: ["bravo"] });
    expect(pidOf(dir, "alpha")).toBe(alpha);
    expect(journal(dir)).toEqual(["start bravo", "end bravo"]);
  });

  it("fails a restart command that outlives its timeout_seconds", async () => {
    const hang = [process.execPath, "-e", "setTimeout(() => {}, 60000)"];
    const consumers = [
      {
        service: "alpha",
        restart: { kind: "command", command: hang, timeout_seconds: 0.5 },
        rolling: ROLLING,
      },
    ];
    const result = await restartAll({ consumers }).result;
    expect(result).toMatchObject({
      ok: false,
      failed: {
        service: "alpha",
        reason: expect.stringMatching(
          /^restart of alpha: `.*node.* -e .*` did not finish within 0\.5 s$/,
        ),
      },
    });
  });
});

describe("health checks", () => {
  const timing = { timeoutSeconds: 0.5, retries: 1, intervalSeconds: 0.05 };

  it("time out on a server that accepts connections but never answers", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    closers.push(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const port = (silent.address() as { port: number }).port;
    const result = await waitHealthy(
      createDriverRegistry(),
      { kind: "http", url: `http://127.0.0.1:${port}/`, ...timing },
      new AbortController().signal,
    );
    expect(result).toEqual({
      healthy: false,
      attempts: 2,
      detail: `http://127.0.0.1:${port}/: no answer within 0.5 s`,
    });
  });

  it("report a refused connection without the URL's credentials or query", async () => {
    const port = await freePort();
    const result = await waitHealthy(
      createDriverRegistry(),
      { kind: "http", url: `http://admin:hunter2@127.0.0.1:${port}/v3?token=abc`, ...timing },
      new AbortController().signal,
    );
    expect(result).toEqual({
      healthy: false,
      attempts: 2,
      detail: `http://127.0.0.1:${port}/v3: ECONNREFUSED`,
    });
  });

  it("send the method, headers and body the check names, and compare the status", async () => {
    const seen: Array<{ method?: string; type?: string; body: string }> = [];
    const server = createHttpServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        seen.push({ method: req.method, type: req.headers["content-type"], body });
        res.statusCode = body.includes("nobody") ? 401 : 500;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => server.close());
    const port = (server.address() as { port: number }).port;
    const check: HealthCheck = {
      kind: "http",
      url: `http://127.0.0.1:${port}/v3/auth/tokens`,
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user: "nobody" }),
      expectStatus: 401,
      ...timing,
    };
    const signal = new AbortController().signal;
    expect(await waitHealthy(createDriverRegistry(), check, signal)).toEqual({
      healthy: true,
      attempts: 1,
      detail: `HTTP 401 from POST http://127.0.0.1:${port}/v3/auth/tokens`,
    });
    expect(seen).toEqual([{ method: "POST", type: "application/json", body: '{"user":"nobody"}' }]);
    const broken = await waitHealthy(
      createDriverRegistry(),
      { ...check, body: JSON.stringify({ user: "somebody" }) },
      signal,
    );
    expect(broken).toMatchObject({
      healthy: false,
      detail: `HTTP 500 from POST http://127.0.0.1:${port}/v3/auth/tokens (expected 401)`,
    });
  });

  it("verify https services against ca_file", async () => {
    const dir = tempDir();
    const ca = await createTestCa("health-ca");
    const leaf = await ca.issue("127.0.0.1", "server");
    const server = createHttpsServer({ cert: leaf.cert, key: leaf.key }, (_req, res) => {
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => server.close());
    const port = (server.address() as { port: number }).port;
    writeFileSync(join(dir, "ca.pem"), ca.cert);
    const check: HealthCheck = {
      kind: "http",
      url: `https://127.0.0.1:${port}/`,
      expectStatus: 204,
      ...timing,
    };
    const signal = new AbortController().signal;
    expect(
      await waitHealthy(createDriverRegistry(), { ...check, caFile: join(dir, "ca.pem") }, signal),
    ).toEqual({
      healthy: true,
      attempts: 1,
      detail: `HTTP 204 from https://127.0.0.1:${port}/`,
    });
    const untrusted = await waitHealthy(createDriverRegistry(), check, signal);
    expect(untrusted.healthy).toBe(false);
    expect(untrusted.detail).toMatch(
      /^https:\/\/127\.0\.0\.1:\d+\/: [A-Z_]*(CERT|SIGNATURE)[A-Z_]*$/,
    );
  });
});

describe("the signal restarter", () => {
  it("sends SIGHUP to the process in the pid file, which keeps running", async () => {
    const dir = tempDir();
    await startService(dir, "nova", 0);
    const pid = pidOf(dir, "nova");
    const restarter = createDriverRegistry()
      .restarter("signal")
      .create({ kind: "signal", pid_file: join(dir, "{service}.pid") }, { service: "nova" });
    const hups = join(dir, "nova.hups");
    const recorded = (count: number) => async () =>
      existsSync(hups) && readFileSync(hups, "utf8") === "HUP\n".repeat(count);
    // Signals are not queued: the second is sent only once the first was handled.
    await restarter.restart(new AbortController().signal);
    await waitFor(recorded(1), { what: "the first SIGHUP recorded" });
    await restarter.restart(new AbortController().signal);
    await waitFor(recorded(2), { what: "the second SIGHUP recorded" });
    expect(pidOf(dir, "nova")).toBe(pid);
    expect(() => process.kill(pid, 0)).not.toThrow();
  });

  it("refuses a missing pid file, one without a pid, and a process that is gone", async () => {
    const dir = tempDir();
    const signalRestarter = createDriverRegistry().restarter("signal");
    const reload = (pidFile: string) =>
      signalRestarter
        .create({ kind: "signal", pid_file: pidFile }, { service: "nova" })
        .restart(new AbortController().signal);
    await expect(reload(join(dir, "missing.pid"))).rejects.toThrow(
      /^reload of nova: cannot read the pid file .*missing\.pid \(ENOENT\)$/,
    );
    writeFileSync(join(dir, "garbage.pid"), "nova-api\n");
    await expect(reload(join(dir, "garbage.pid"))).rejects.toThrow(/does not hold a process id$/);
    const exited = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((resolve) => exited.once("exit", resolve));
    writeFileSync(join(dir, "gone.pid"), `${exited.pid}\n`);
    await expect(reload(join(dir, "gone.pid"))).rejects.toMatchObject({
      code: "STRONGROOM_ERR_RESTART",
      message: expect.stringMatching(
        /^reload of nova: no process \d+ \(from .*gone\.pid\) is running$/,
      ),
    });
  });
});

describe("the systemd restarter (fake systemctl on PATH: systemd cannot run here)", () => {
  const originalPath = process.env["PATH"];
  afterEach(() => {
    process.env["PATH"] = originalPath;
  });

  /** A `systemctl` that appends its argv to DIR/systemctl.log; is-active reports DIR/state. */
  function fakeSystemctl(dir: string, state: string, restartExit = 0): void {
    const script = [
      "#!/bin/sh",
      `echo "$*" >> "${dir}/systemctl.log"`,
      'if [ "$1" = restart ]; then',
      `  [ ${restartExit} -eq 0 ] || { echo "Failed to restart $2.service: Unit $2.service not found." >&2; exit ${restartExit}; }`,
      "  exit 0",
      "fi",
      `echo "${state}"`,
      `[ "${state}" = active ]`,
    ].join("\n");
    writeFileSync(join(dir, "systemctl"), `${script}\n`);
    chmodSync(join(dir, "systemctl"), 0o755);
    process.env["PATH"] = `${dir}${delimiter}${originalPath}`;
  }
  const calls = (dir: string) =>
    readFileSync(join(dir, "systemctl.log"), "utf8").trim().split("\n");
  const restart = (stanza: Record<string, unknown>) =>
    createDriverRegistry()
      .restarter("systemd")
      .create({ kind: "systemd", ...stanza }, { service: "nova" })
      .restart(new AbortController().signal);

  it("restarts the unit named after the service (or the unit template), then checks it is active", async () => {
    const dir = tempDir();
    fakeSystemctl(dir, "active");
    await restart({});
    await restart({ unit: "openstack-{service}-api.service" });
    expect(calls(dir)).toEqual([
      "restart nova",
      "is-active nova",
      "restart openstack-nova-api.service",
      "is-active openstack-nova-api.service",
    ]);
  });

  it("fails when the unit does not come up, or systemctl restart fails", async () => {
    const dir = tempDir();
    fakeSystemctl(dir, "failed");
    await expect(restart({})).rejects.toThrow(
      /^restart of nova: unit nova is not active after the restart \(failed\)$/,
    );
    fakeSystemctl(dir, "active", 5);
    await expect(restart({})).rejects.toThrow(
      /^restart of nova: `systemctl restart nova` exited with code 5: Failed to restart nova\.service: Unit nova\.service not found\.$/,
    );
  });
});

/**
 * A private HAProxy for one test file, from Debian's binary: its config and an admin-level stats
 * socket in a temp dir, every frontend on a free 127.0.0.1 port, one backend per frontend with
 * its servers (127.0.0.1 ports the caller chose) health-checked over HTTP. It runs in the
 * foreground (`-db`) in its own process group; stop() kills the group.
 *
 *   const lb = await startHaproxy([{ name: "keystone", check: "/v3",
 *     servers: [{ name: "keystone-0", port: p0 }, { name: "keystone-1", port: p1 }] }]);
 *   lb.url("keystone")                              // http://127.0.0.1:<frontend port>
 *   await lb.setState("keystone", "keystone-0", "drain");
 *   (await lb.server("keystone", "keystone-0")).scur // sessions still on it
 *
 * Requests a server cannot take are retried on another one: `retries 3` with `option
 * redispatch 1` (every retry may pick another server) and `retry-on conn-failure
 * empty-response`: a stopped server (connection refused) or one that died before answering
 * (connection closed, nothing received) costs the client nothing while another server is up.
 * HAProxy retries whatever the method: a POST whose server died after acting on it runs twice
 * (a harness trade-off; a token POST does not mind). A drained server gets no new requests
 * (its status says DRAIN; `show stat` still reports its weight), a server in maintenance none
 * at all, and its health checks stop. The health check marks a server down after two failed checks and up
 * after two good ones (`inter` 1 s, 250 ms while changing state).
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  parseShowStat,
  runtimeCommand,
  type ServerStat,
} from "../../drivers/load-balancers/haproxy/index.js";
import { freePort, waitFor } from "./ports.js";
import { killAndWait } from "./server-reaper.js";
import { launchOnFreePorts, makeServerDir, type ServerDir, spawnToLog } from "./servers.js";

export const HAPROXY_PROGRAM = "/usr/sbin/haproxy";

export interface HaproxyServerSpec {
  /** Server name inside its backend, e.g. "keystone-0". */
  name: string;
  /** Its port on 127.0.0.1 (it need not listen yet: the health check marks it down). */
  port: number;
}

export interface HaproxyBackendSpec {
  /** Frontend and backend name, e.g. "keystone". */
  name: string;
  /** Path of the health check: `GET <check>` must answer `checkStatus` (default 200). */
  check: string;
  checkStatus?: number;
  servers: HaproxyServerSpec[];
  /**
   * HTTPS on both sides: the frontend serves `frontendPem` (certificate then key), the servers
   * are reached (and health-checked) over TLS verified with `serversCa`. Requests stay HTTP to
   * HAProxy, so its retries still apply; a client certificate does not pass through.
   */
  tls?: { frontendPem: string; serversCa: string };
}

export type ServerState = "ready" | "drain" | "maint";

export type { ServerStat };

export interface HaproxyServer {
  readonly dir: string;
  readonly socket: string;
  readonly log: string;
  /** Frontend port per backend name. */
  readonly ports: ReadonlyMap<string, number>;
  /** http(s)://127.0.0.1:<frontend port> of a backend. */
  url(backend: string): string;
  /** One runtime API command over the stats socket; resolves with HAProxy's answer. */
  command(line: string): Promise<string>;
  /** `set server B/S state ready|drain|maint`; rejects when HAProxy answers with an error. */
  setState(backend: string, server: string, state: ServerState): Promise<void>;
  /** `set server B/S addr 127.0.0.1 port P`: the server moved (e.g. restarted on another port). */
  setAddress(backend: string, server: string, port: number): Promise<void>;
  /** Every server line of `show stat` (frontends and backend totals left out). */
  stats(): Promise<ServerStat[]>;
  server(backend: string, server: string): Promise<ServerStat>;
  /** Waits until `server`'s status satisfies `ok` (e.g. s => s.status === "UP"). */
  waitFor(
    backend: string,
    server: string,
    ok: (stat: ServerStat) => boolean,
    options?: { timeoutMs?: number; what?: string },
  ): Promise<ServerStat>;
  /** Kills HAProxy's process group and removes its dir. Safe to call twice. */
  stop(): Promise<void>;
}

const STATE_LINE = /^(ready|drain|maint)$/;

export function haproxyConfig(
  dir: string,
  backends: readonly HaproxyBackendSpec[],
  ports: ReadonlyMap<string, number>,
): string {
  const lines = [
    "global",
    `  stats socket ${join(dir, "admin.sock")} mode 600 level admin`,
    "  stats timeout 10s",
    "  maxconn 4000",
    // Access and event log on stdout, which goes to haproxy.log.
    "  log stdout format raw local0 info",
    "",
    "defaults",
    "  mode http",
    "  log global",
    "  option httplog",
    "  option dontlognull",
    "  timeout connect 2s",
    "  timeout client 60s",
    "  timeout server 60s",
    "  timeout queue 30s",
    "  timeout check 5s",
    "  retries 3",
    "  option redispatch 1",
    "  retry-on conn-failure empty-response",
    "  balance roundrobin",
    "  default-server inter 1s fastinter 250ms downinter 250ms rise 2 fall 2",
  ];
  for (const backend of backends) {
    lines.push(
      "",
      `frontend ${backend.name}`,
      `  bind 127.0.0.1:${ports.get(backend.name)}${backend.tls ? ` ssl crt ${backend.tls.frontendPem}` : ""}`,
      `  default_backend ${backend.name}`,
      "",
      `backend ${backend.name}`,
      // HTTP/1.1 with a Host header, as a real client sends.
      `  option httpchk`,
      `  http-check send meth GET uri ${backend.check} ver HTTP/1.1 hdr Host 127.0.0.1`,
      `  http-check expect status ${backend.checkStatus ?? 200}`,
      ...backend.servers.map(
        (s) =>
          `  server ${s.name} 127.0.0.1:${s.port} check${backend.tls ? ` ssl verify required ca-file ${backend.tls.serversCa}` : ""}`,
      ),
    );
  }
  return `${lines.join("\n")}\n`;
}

export async function startHaproxy(
  backends: readonly HaproxyBackendSpec[],
): Promise<HaproxyServer> {
  const dir = makeServerDir("strongroom-haproxy-");
  const socket = join(dir.path, "admin.sock");
  const log = join(dir.path, "haproxy.log");
  try {
    const { child, ports } = await launchOnFreePorts(
      async () => {
        const ports = new Map<string, number>();
        for (const b of backends) ports.set(b.name, await freePort());
        const config = join(dir.path, "haproxy.cfg");
        writeFileSync(config, haproxyConfig(dir.path, backends, ports));
        const child = spawnToLog([HAPROXY_PROGRAM, "-db", "-f", config], {
          cwd: dir.path,
          env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8" },
          log,
        });
        return {
          child,
          group: true,
          ports,
          ready: async () =>
            (await runtimeCommand(socket, "show info").catch(() => "")).includes("Name: HAProxy"),
          why: () => alerts(log),
        };
      },
      {
        program: "haproxy",
        what: "HAProxy's stats socket",
        timeoutMs: 15_000,
        intervalMs: 25,
        portTaken: /cannot bind socket|Address already in use/i,
      },
    );
    return handle(child, dir, socket, log, ports);
  } catch (error) {
    dir.remove();
    throw error;
  }
}

function alerts(log: string): string {
  let text = "";
  try {
    text = readFileSync(log, "utf8");
  } catch {
    // not written yet
  }
  const lines = text.split("\n").filter((l) => /ALERT|error|cannot/i.test(l));
  return lines.slice(-3).join(" | ") || "(haproxy logged no error)";
}

export { parseShowStat, runtimeCommand };

function handle(
  child: ChildProcess,
  dir: ServerDir,
  socket: string,
  log: string,
  ports: ReadonlyMap<string, number>,
): HaproxyServer {
  const command = (line: string) => runtimeCommand(socket, line);
  /** Commands that change state answer nothing (or a blank line) on success. */
  const expectSilence = async (line: string) => {
    const answer = (await command(line)).trim();
    if (answer !== "") throw new Error(`haproxy "${line}": ${answer}`);
  };
  const stats = async () => parseShowStat(await command("show stat"));
  const server = async (backend: string, name: string) => {
    const found = (await stats()).find((s) => s.backend === backend && s.server === name);
    if (!found) throw new Error(`haproxy has no server ${backend}/${name}`);
    return found;
  };
  let stopped: Promise<void> | undefined;
  return {
    dir: dir.path,
    socket,
    log,
    ports,
    url(backend) {
      const port = ports.get(backend);
      if (port === undefined) throw new Error(`haproxy has no frontend ${backend}`);
      return `http://127.0.0.1:${port}`;
    },
    command,
    async setState(backend, name, state) {
      if (!STATE_LINE.test(state)) throw new Error(`bad server state ${state}`);
      await expectSilence(`set server ${backend}/${name} state ${state}`);
    },
    async setAddress(backend, name, port) {
      const answer = (
        await command(`set server ${backend}/${name} addr 127.0.0.1 port ${port}`)
      ).trim();
      // HAProxy reports what changed ("IP changed from ... port changed from ...").
      if (answer !== "" && !/changed|no need to change/i.test(answer)) {
        throw new Error(`haproxy set server addr: ${answer}`);
      }
    },
    stats,
    server,
    async waitFor(backend, name, ok, options = {}) {
      let last: ServerStat | undefined;
      try {
        await waitFor(
          async () => {
            last = await server(backend, name);
            return ok(last);
          },
          { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 50, what: `${backend}/${name}` },
        );
      } catch (error) {
        throw new Error(
          `${(error as Error).message}: ${options.what ?? "state"} not reached, last status "${last?.status ?? "?"}"`,
        );
      }
      return last!;
    },
    stop() {
      stopped ??= (async () => {
        await killAndWait(child, true);
        dir.remove();
      })();
      return stopped;
    },
  };
}

/** The log's last lines (HAProxy's events and access log: no secrets, they live in headers). */
export function haproxyLogTail(server: HaproxyServer, lines = 20): string {
  try {
    return readFileSync(server.log, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

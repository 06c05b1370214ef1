/**
 * One OpenStack API process (Keystone's or Placement's pbr WSGI script) on 127.0.0.1, in its own
 * process group, its stdout and stderr in a log file in its dir.
 *
 * Runners:
 * - `uwsgi` (default): Debian's uwsgi-core with its python3 plugin, a master and one worker with
 *   `threads` threads (4), the app loaded in the worker (`lazy-apps`), `need-app` (a config that
 *   does not load ends the process instead of serving 500s), SIGTERM a graceful stop (requests
 *   in flight finish). Several threads matter: a token request spends ~0.4 s in bcrypt at
 *   Keystone's default 12 rounds, and a single-threaded server makes every other request
 *   (HAProxy's health checks included) wait behind it. The socket is bound before the app
 *   loads, so early connections wait in the backlog instead of being refused.
 * - `wsgiref`: the script run directly (`--host --port`): Python's wsgiref, one thread,
 *   HTTP/1.0. Kept for comparisons; it starts as fast as uwsgi.
 *
 * A port that turns out to be taken is replaced by a free one (the caller reads `port`; behind
 * HAProxy, `setAddress` moves the server).
 */
import type { ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../ports.js";
import { basePythonEnv, DEBIAN_PYTHON } from "../python.js";
import { exited, killAndWait } from "../server-reaper.js";
import { launchOnFreePorts, spawnToLog } from "../servers.js";

export const UWSGI_PROGRAM = "/usr/bin/uwsgi-core";
/** The plugin uwsgi-plugin-python3 installs (an alternative pointing at python311_plugin.so). */
export const UWSGI_PYTHON_PLUGIN = "/usr/lib/uwsgi/plugins/python3_plugin.so";

export type WsgiRunner = "uwsgi" | "wsgiref";

export interface WsgiProcessSpec {
  /** e.g. "keystone-0"; names the log and ini files. */
  name: string;
  /** The pbr WSGI script, e.g. /usr/bin/keystone-wsgi-public. */
  script: string;
  /** The process's own dir: its cwd, log and uwsgi.ini. */
  dir: string;
  /** Merged over basePythonEnv() (nothing else is inherited). */
  env?: Record<string, string>;
  /** Port to try first; default a free one. */
  port?: number;
  /** Ready when `GET path` answers `status` (default 200). */
  ready: { path: string; status?: number };
  runner?: WsgiRunner;
  /** uwsgi threads; default 4. */
  threads?: number;
  /** Default 60 s. */
  timeoutMs?: number;
  /** Applied to every log excerpt this module puts in an error. */
  redact?: (text: string) => string;
}

/** What a caller chooses about one API process; the service's helper adds the rest. */
export type WsgiStartOptions = Pick<
  WsgiProcessSpec,
  "name" | "port" | "runner" | "threads" | "redact"
>;

export interface WsgiProcess {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  readonly dir: string;
  readonly log: string;
  readonly runner: WsgiRunner;
  /** From spawn to the first `ready` answer, in ms (the last attempt when a port was retaken). */
  readonly startupMs: number;
  /** True once the process has exited. */
  exited(): boolean;
  /** The log's last lines, redacted. */
  logTail(lines?: number): string;
  /** SIGTERM to the group (graceful), SIGKILL after `graceMs` (default 10 s). */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the group. */
  kill(): Promise<void>;
}

/** Where uWSGI's master FIFO and stats socket live in a process's dir (uwsgi-reload uses both). */
export const uwsgiControl = (dir: string) => ({
  masterFifo: join(dir, "master.fifo"),
  stats: join(dir, "stats.sock"),
});

export function uwsgiIni(script: string, port: number, threads: number, dir: string): string {
  const control = uwsgiControl(dir);
  return `${[
    "[uwsgi]",
    "plugins = python3",
    `wsgi-file = ${script}`,
    `http-socket = 127.0.0.1:${port}`,
    "master = true",
    "processes = 1",
    `threads = ${threads}`,
    "enable-threads = true",
    "lazy-apps = true",
    "need-app = true",
    "die-on-term = true",
    // SIGTERM: workers finish the requests they hold, then everything exits.
    "hook-master-start = unix_signal:15 gracefully_kill_them_all",
    "worker-reload-mercy = 10",
    "exit-on-reload = false",
    "thunder-lock = true",
    "buffer-size = 65535",
    // A reload (`c` written here) replaces the worker, which loads the app, and so its config,
    // again; the stats socket tells when the new worker accepts requests.
    `master-fifo = ${control.masterFifo}`,
    `stats = ${control.stats}`,
    // One request per connection, as devstack runs these APIs (HAProxy opens a new one).
    "add-header = Connection: close",
    // The services log their requests themselves.
    "disable-logging = true",
    // A client that leaves before its answer (HAProxy's health check once it read the status)
    // is not an error worth a traceback in the service's log.
    "ignore-sigpipe = true",
    "ignore-write-errors = true",
    "disable-write-exception = true",
  ].join("\n")}\n`;
}

export async function startWsgiProcess(spec: WsgiProcessSpec): Promise<WsgiProcess> {
  const runner = spec.runner ?? "uwsgi";
  const redact = spec.redact ?? ((text: string) => text);
  const log = join(spec.dir, `${spec.name}.log`);
  const readyStatus = spec.ready.status ?? 200;
  let attempt = 0;
  let startedAt = 0;
  const launch = await launchOnFreePorts(
    async () => {
      const port = attempt++ === 0 && spec.port !== undefined ? spec.port : await freePort();
      const argv =
        runner === "uwsgi"
          ? (() => {
              const ini = join(spec.dir, `${spec.name}.uwsgi.ini`);
              writeFileSync(ini, uwsgiIni(spec.script, port, spec.threads ?? 4, spec.dir));
              return [UWSGI_PROGRAM, "--ini", ini];
            })()
          : [DEBIAN_PYTHON, spec.script, "--host", "127.0.0.1", "--port", String(port)];
      startedAt = performance.now();
      const child = spawnToLog(argv, {
        cwd: spec.dir,
        env: { ...basePythonEnv(), ...spec.env },
        log,
      });
      return {
        child,
        group: true,
        port,
        ready: () => answers(`http://127.0.0.1:${port}${spec.ready.path}`, readyStatus),
        why: () => redact(errorLines(log)),
      };
    },
    {
      program: spec.name,
      what: `${spec.name} to answer GET ${spec.ready.path} with ${readyStatus}`,
      timeoutMs: spec.timeoutMs ?? 60_000,
      intervalMs: 25,
      portTaken: /Address already in use|probably another instance of uWSGI/i,
    },
  );
  const startupMs = performance.now() - startedAt;
  return handle(spec, runner, launch.child, launch.port, log, startupMs, redact);
}

/** True when GET url answers `status` (false on any error: not up yet). */
async function answers(url: string, status: number): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    return res.status === status;
  } catch {
    return false;
  }
}

const readLog = (log: string) => {
  try {
    return readFileSync(log, "utf8");
  } catch {
    return "";
  }
};

/** What a failed start logged: errors and the last lines, for the error message. */
function errorLines(log: string): string {
  const lines = readLog(log).split("\n");
  const errors = lines.filter((l) =>
    /error|critical|exception|address already in use|GAME OVER|Traceback/i.test(l),
  );
  return (errors.length > 0 ? errors : lines).slice(-8).join(" | ").slice(0, 3000);
}

function handle(
  spec: WsgiProcessSpec,
  runner: WsgiRunner,
  child: ChildProcess,
  port: number,
  log: string,
  startupMs: number,
  redact: (text: string) => string,
): WsgiProcess {
  let gone = false;
  void exited(child).then(() => {
    gone = true;
  });
  return {
    name: spec.name,
    port,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    dir: spec.dir,
    log,
    runner,
    startupMs,
    exited: () => gone,
    logTail: (lines = 20) => redact(readLog(log).trim().split("\n").slice(-lines).join("\n")),
    async stop(graceMs = 10_000) {
      if (gone) return;
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => void killAndWait(child, true), graceMs);
      await exited(child);
      clearTimeout(timer);
      killGroup(child.pid!);
    },
    async kill() {
      await killAndWait(child, true);
      killGroup(child.pid!);
    },
  };
}

/**
 * SIGKILL to what is left of a process group (a uwsgi worker may outlive its master), only while
 * a uwsgi process is in it: once the group is empty its number may lead another test's group.
 */
function killGroup(pgid: number): void {
  if (!groupRunsUwsgi(pgid)) return;
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // nothing left
  }
}

function groupRunsUwsgi(pgid: number): boolean {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid pgrp …
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [comm, rest] = [
        stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
        stat.slice(stat.lastIndexOf(")") + 2),
      ];
      if (Number(rest.split(" ")[2]) === pgid && comm.startsWith("uwsgi")) return true;
    } catch {
      // exited meanwhile
    }
  }
  return false;
}

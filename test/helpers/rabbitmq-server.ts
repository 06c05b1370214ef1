/**
 * A private RabbitMQ node for one test file: its own node name, Erlang cookie, epmd (on a free
 * port, so the machine's epmd and its rabbit@localhost are never touched), data and log dirs,
 * AMQP on 127.0.0.1 only, no plugins.
 *
 *   let mq: RabbitMqServer;
 *   beforeAll(async () => { mq = await startRabbitMq(); });
 *   afterAll(() => mq?.stop());
 *
 * `rabbitmqctl` is the argv of a wrapper script that points the real rabbitmqctl at this node
 * (HOME with the cookie, the epmd port) and appends every argv it is called with to a log:
 * `recordedArgv()` shows exactly what a driver put on a command line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import amqp from "amqplib";
import { runWithInput } from "../../drivers/rotation-targets/run-with-input.js";
import { freePort, waitFor } from "./ports.js";
import { killAndWait, reapAtExit } from "./server-reaper.js";
import { launchOnFreePorts, makeServerDir, requireProgram, type ServerDir } from "./servers.js";

export interface RabbitMqServer {
  /** e.g. "strongroom-1234-9f2c@localhost". */
  readonly node: string;
  /** AMQP port on 127.0.0.1 (guest/guest works from loopback). */
  readonly port: number;
  readonly baseDir: string;
  /** Runs rabbitmqctl against this node: give it to the driver as the target's `rabbitmqctl`. */
  readonly rabbitmqctl: readonly string[];
  /** `rabbitmqctl -n <node> -q <args>`; `input` goes to stdin. */
  ctl(
    args: string[],
    input?: string,
  ): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** True when a fresh AMQP login (PLAIN) succeeds; false on 403 ACCESS_REFUSED. */
  canLogin(user: string, password: string, vhost?: string): Promise<boolean>;
  /** Every argv the rabbitmqctl wrapper was called with, oldest first. */
  recordedArgv(): string[][];
  /** Kills the node and its epmd, removes its files. Safe to call twice. */
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 60_000;
/** Busy-waiting schedulers burn the 2 shared cores for nothing in tests. */
const ERL_ARGS =
  "+sbwt none +sbwtdcpu none +sbwtdio none -kernel inet_dist_use_interface {127,0,0,1}";

export async function startRabbitMq(): Promise<RabbitMqServer> {
  const dir = makeServerDir("strongroom-rabbitmq-");
  const baseDir = dir.path;
  const node = `strongroom-${process.pid}-${randomBytes(3).toString("hex")}@localhost`;
  writeFileSync(join(baseDir, ".erlang.cookie"), randomBytes(16).toString("hex").toUpperCase());
  chmodSync(join(baseDir, ".erlang.cookie"), 0o400);
  writeFileSync(join(baseDir, "rabbitmq-env.conf"), "");
  writeFileSync(join(baseDir, "enabled_plugins"), "[].\n");
  let epmd: ChildProcess | undefined;
  try {
    const epmdPort = await freePort();
    epmd = spawn(requireProgram("epmd"), ["-port", String(epmdPort), "-address", "127.0.0.1"], {
      stdio: "ignore",
    });
    reapAtExit(epmd);
    await waitFor(() => tcpAnswers(epmdPort), { what: "epmd", timeoutMs: 10_000, intervalMs: 20 });
    const env = nodeEnv(baseDir, node, epmdPort);
    const { child: beam, port } = await launch(baseDir, env);
    const rabbitmqctl = writeCtlWrapper(baseDir, env);
    return handle({ node, port, dir, rabbitmqctl, beam, epmd });
  } catch (error) {
    if (epmd) await killAndWait(epmd);
    dir.remove();
    throw error;
  }
}

/** The environment both the node and rabbitmqctl need: nothing from /etc/rabbitmq, HOME for
 * the cookie, our epmd. */
function nodeEnv(baseDir: string, node: string, epmdPort: number): Record<string, string> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[1] !== undefined && !/^(RABBITMQ_|ERL_)/.test(e[0]),
    ),
  );
  return {
    ...inherited,
    HOME: baseDir,
    RABBITMQ_CONF_ENV_FILE: join(baseDir, "rabbitmq-env.conf"),
    RABBITMQ_NODENAME: node,
    RABBITMQ_MNESIA_BASE: join(baseDir, "mnesia"),
    RABBITMQ_LOG_BASE: join(baseDir, "log"),
    RABBITMQ_CONFIG_FILE: join(baseDir, "rabbitmq.conf"),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(baseDir, "advanced.config"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(baseDir, "enabled_plugins"),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: ERL_ARGS,
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: "127.0.0.1",
    ERL_CRASH_DUMP: join(baseDir, "erl_crash.dump"),
  };
}

/** Starts the node on free ports (AMQP and distribution). */
function launch(
  baseDir: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number }> {
  const start = async () => {
    const [port, distPort] = [await freePort(), await freePort()];
    // AMQP only through the config file: RABBITMQ_NODE_PORT as well would start a second
    // listener on the same port (eaddrinuse).
    writeFileSync(
      join(baseDir, "rabbitmq.conf"),
      `listeners.tcp.default = 127.0.0.1:${port}\nlog.console = false\n`,
    );
    rmSync(join(baseDir, "mnesia"), { recursive: true, force: true });
    const beam = spawn(requireProgram("rabbitmq-server"), [], {
      env: { ...env, RABBITMQ_DIST_PORT: String(distPort) },
      stdio: ["ignore", "ignore", "pipe"],
      // Its own process group: the script runs erl in the background, stop() kills them all.
      detached: true,
    });
    let stderr = "";
    beam.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4000);
    });
    return {
      child: beam,
      group: true,
      port,
      // Readiness = a real AMQP login: the listener starts last and users exist by then.
      ready: () => amqpLogin(port, "guest", "guest", "/").catch(() => false),
      why: () => logTail(baseDir, env, stderr),
    };
  };
  return launchOnFreePorts(start, {
    program: "rabbitmq-server",
    what: "the RabbitMQ node to accept AMQP logins",
    timeoutMs: STARTUP_TIMEOUT_MS,
    intervalMs: 100,
    portTaken: /eaddrinuse|address already in use/i,
  });
}

function logTail(baseDir: string, env: Record<string, string>, stderr: string): string {
  let log = "";
  try {
    log = readFileSync(join(baseDir, "log", `${env["RABBITMQ_NODENAME"]}.log`), "utf8");
  } catch {
    // not written yet
  }
  const lines = `${log}\n${stderr}`.split("\n").filter((l) => /error|eaddrinuse|fail/i.test(l));
  return lines.slice(-3).join(" | ").slice(0, 1500) || "(no error in the node's log)";
}

function writeCtlWrapper(baseDir: string, env: Record<string, string>): string[] {
  const binDir = join(baseDir, "bin");
  mkdirSync(binDir);
  const wrapper = join(binDir, "rabbitmqctl");
  const keep = [
    "HOME",
    "RABBITMQ_CONF_ENV_FILE",
    "RABBITMQ_NODENAME",
    "ERL_EPMD_PORT",
    "ERL_EPMD_ADDRESS",
  ];
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(
    wrapper,
    [
      "#!/bin/sh",
      "# Records argv (NUL after each argument, RS after each call), then runs the real tool.",
      `for arg in "$@"; do printf '%s\\000' "$arg"; done >> ${quote(join(baseDir, "argv.log"))}`,
      `printf '\\036' >> ${quote(join(baseDir, "argv.log"))}`,
      ...keep.map((k) => `export ${k}=${quote(env[k]!)}`),
      `exec ${quote(requireProgram("rabbitmqctl"))} "$@"`,
      "",
    ].join("\n"),
  );
  chmodSync(wrapper, 0o755);
  return [wrapper];
}

async function tcpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** true: logged in; false: 403 ACCESS_REFUSED; throws on anything else (down, vhost refused). */
async function amqpLogin(port: number, user: string, password: string, vhost: string) {
  let connection: amqp.ChannelModel;
  try {
    connection = await amqp.connect({
      protocol: "amqp",
      hostname: "127.0.0.1",
      port,
      username: user,
      password,
      vhost,
      heartbeat: 0,
    });
  } catch (error) {
    if (/ACCESS.REFUSED|\b403\b/.test(String((error as Error).message))) return false;
    throw error;
  }
  await connection.close().catch(() => {});
  return true;
}

interface Running {
  node: string;
  port: number;
  dir: ServerDir;
  rabbitmqctl: string[];
  beam: ChildProcess;
  epmd: ChildProcess;
}

function handle(running: Running): RabbitMqServer {
  const { node, port, dir, rabbitmqctl, beam, epmd } = running;
  const baseDir = dir.path;
  let stopped: Promise<void> | undefined;
  return {
    node,
    port,
    baseDir,
    rabbitmqctl,
    ctl: (args, input) =>
      runWithInput([...rabbitmqctl, "-n", node, "-q", ...args], {
        timeoutMs: 60_000,
        ...(input !== undefined && { input }),
      }),
    canLogin: (user, password, vhost = "/") => amqpLogin(port, user, password, vhost),
    recordedArgv() {
      let text = "";
      try {
        text = readFileSync(join(baseDir, "argv.log"), "utf8");
      } catch {
        return [];
      }
      return text
        .split("\u001e")
        .filter((call) => call !== "")
        .map((call) => call.split("\u0000").slice(0, -1));
    },
    stop() {
      // SIGKILL, not `rabbitmqctl stop`: the node is thrown away, and that takes no time.
      stopped ??= (async () => {
        await killAndWait(beam, true);
        await killAndWait(epmd);
        dir.remove();
      })();
      return stopped;
    },
  };
}

/**
 * Which Debian server binaries the integration tests run (private MariaDB and RabbitMQ
 * instances), and `describeWithServers`: like describeWithPython, a missing binary fails the
 * suite under CI=true and skips it, with the reason printed, elsewhere. Also what both
 * harnesses share: their temp dir (`makeServerDir`), start-up (`launchOnFreePorts`) and
 * `spawnToLog`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  accessSync,
  closeSync,
  constants,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeNeeding } from "./describe-needing.js";
import { waitFor } from "./ports.js";
import { exited, killAndWait, reapAtExit, removeAtExit } from "./server-reaper.js";

export type ServerKind = "mariadb" | "rabbitmq";

/** Alternative paths per program; the first executable one is used. */
const PROGRAMS = {
  mariadbd: ["/usr/sbin/mariadbd", "/usr/sbin/mysqld", "/usr/bin/mariadbd"],
  "mariadb-install-db": ["/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db"],
  // Debian's /usr/sbin wrappers `su rabbitmq` when run as root, which drops our environment
  // (node name, ports, cookie): the scripts they wrap are called directly.
  "rabbitmq-server": ["/usr/lib/rabbitmq/bin/rabbitmq-server"],
  rabbitmqctl: ["/usr/lib/rabbitmq/bin/rabbitmqctl"],
  epmd: ["/usr/bin/epmd", "/usr/lib/erlang/bin/epmd"],
} as const;
type Program = keyof typeof PROGRAMS;

const NEEDS: Record<ServerKind, { programs: Program[]; package: string }> = {
  mariadb: { programs: ["mariadbd", "mariadb-install-db"], package: "mariadb-server" },
  rabbitmq: { programs: ["rabbitmq-server", "rabbitmqctl", "epmd"], package: "rabbitmq-server" },
};

const isExecutable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The program's path, or undefined when none of its known locations is executable. */
export function findProgram(program: Program): string | undefined {
  return PROGRAMS[program].find(isExecutable);
}

/** The program's path; throws naming the Debian package when it is missing. */
export function requireProgram(program: Program): string {
  const found = findProgram(program);
  if (found) return found;
  const kind = (Object.keys(NEEDS) as ServerKind[]).find((k) =>
    NEEDS[k].programs.includes(program),
  );
  throw new Error(
    `${program} not found (looked in ${PROGRAMS[program].join(", ")}); apt-get install ${kind ? NEEDS[kind].package : program}`,
  );
}

/** Why the servers cannot run here, or undefined when every binary is present. */
export function missingServers(kinds: readonly ServerKind[]): string | undefined {
  const missing = kinds.flatMap((kind) =>
    NEEDS[kind].programs
      .filter((p) => findProgram(p) === undefined)
      .map((p) => `${p} (${NEEDS[kind].package})`),
  );
  return missing.length === 0 ? undefined : `missing ${missing.join(", ")}`;
}

/**
 * Where server data dirs go: /dev/shm when writable (tmpfs: no fsync, so mariadb-install-db
 * takes ~0.5 s instead of ~3 s on a busy disk), else the OS temp dir.
 */
function fastTempRoot(): string {
  try {
    accessSync("/dev/shm", constants.W_OK | constants.X_OK);
    return "/dev/shm";
  } catch {
    return tmpdir();
  }
}

/** A private server's files: a fresh dir under fastTempRoot(), removed at exit at the latest. */
export interface ServerDir {
  readonly path: string;
  /** Removes the dir now. */
  remove(): void;
}

export function makeServerDir(prefix: string): ServerDir {
  const path = mkdtempSync(join(fastTempRoot(), prefix));
  const forget = removeAtExit(path);
  return {
    path,
    remove() {
      rmSync(path, { recursive: true, force: true });
      forget();
    },
  };
}

/**
 * Spawns `argv` in its own process group (kills take the group), stdout and stderr appended to
 * `log` (0600) after a line naming the start; nothing reaches the test's output.
 */
export function spawnToLog(
  argv: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; log: string },
): ChildProcess {
  const out = openSync(options.log, "a", 0o600);
  try {
    writeFileSync(out, `--- ${new Date().toISOString()} ${argv.join(" ")}\n`);
    return spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", out, out],
      detached: true,
    });
  } finally {
    closeSync(out);
  }
}

/** One start of a server, on the ports `launchOnFreePorts`' `start` chose for it. */
export interface ServerLaunch {
  readonly child: ChildProcess;
  /** Spawned `detached`: kills take its whole process group. */
  readonly group?: boolean;
  /** Polled until true; false while the server is not ready yet. */
  ready(): Promise<boolean>;
  /** What the server logged of why it failed, for the error. */
  why(): string;
}

export interface LaunchOptions {
  /** Named in "<program> exited during startup". */
  program: string;
  /** Named in "timed out waiting for <what>". */
  what: string;
  timeoutMs: number;
  intervalMs: number;
  /** Matches `why()` when the server lost a port it was given to another process. */
  portTaken: RegExp;
}

/**
 * Starts a server (`start` picks free ports and spawns it, unready) and waits until it is ready;
 * it is reaped at exit if never stopped. A start that exits because a port was taken between
 * choosing and binding is retried on new ports, three starts in all.
 */
export async function launchOnFreePorts<L extends ServerLaunch>(
  start: () => Promise<L>,
  options: LaunchOptions,
): Promise<L> {
  const { program, what, timeoutMs, intervalMs, portTaken } = options;
  for (let attempt = 1; ; attempt++) {
    const launch = await start();
    const { child, group = false } = launch;
    const forget = reapAtExit(child, group);
    let gone = false;
    void exited(child).then(() => {
      gone = true;
    });
    try {
      await waitFor(async () => gone || (await launch.ready()), { what, timeoutMs, intervalMs });
    } catch (error) {
      await killAndWait(child, group);
      forget();
      throw new Error(`${(error as Error).message}; ${launch.why()}`);
    }
    if (!gone) return launch;
    forget();
    const why = launch.why();
    if (attempt < 3 && portTaken.test(why)) continue;
    throw new Error(`${program} exited during startup: ${why}`);
  }
}

/** `describe` for suites that start private servers (see mariadb-server.ts, rabbitmq-server.ts). */
export function describeWithServers(
  kinds: readonly ServerKind[],
  name: string,
  fn: () => void,
): void {
  const needs = `${kinds.join(" and ")} server binaries`;
  describeNeeding(needs, missingServers(kinds), "scripts/system-deps.json", name, fn);
}

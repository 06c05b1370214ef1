/**
 * A private MariaDB server for one test file, from Debian's binaries: a fresh datadir in a temp
 * dir, TCP on 127.0.0.1 only (a free port), grants on, name resolution on (so a TCP login from
 * 127.0.0.1 matches user@localhost before user@%, as on a real controller). It never touches
 * the machine's own MariaDB.
 *
 *   let db: MariaDbServer;
 *   beforeAll(async () => { db = await startMariaDb(); });
 *   afterAll(() => db?.stop());
 *
 * root gets `rootPassword` on every variant (localhost, 127.0.0.1, ::1, %). Tests rotate root,
 * so `sql()` runs as a separate superuser of the harness over the socket.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import mysql, { type Connection } from "mysql2/promise";
import { freePort } from "./ports.js";
import { killAndWait } from "./server-reaper.js";
import { launchOnFreePorts, makeServerDir, requireProgram, type ServerDir } from "./servers.js";

export const ROOT_HOSTS = ["localhost", "127.0.0.1", "::1", "%"] as const;

export interface MariaDbServer {
  readonly host: "127.0.0.1";
  readonly port: number;
  /** The unix socket; the harness's superuser and socket-only tests use it. */
  readonly socket: string;
  readonly baseDir: string;
  /** root's password on every variant when the server started. */
  readonly rootPassword: string;
  /** One statement as the harness's superuser (socket); `values` fill `?` placeholders. */
  sql<T = Record<string, unknown>>(statement: string, values?: unknown[]): Promise<T[]>;
  /** True when a fresh TCP login from 127.0.0.1 as `user` with `password` succeeds. */
  canLogin(user: string, password: string): Promise<boolean>;
  /** CURRENT_USER() of a fresh TCP login (e.g. "nova@localhost"); undefined when refused. */
  loginAs(user: string, password: string): Promise<string | undefined>;
  /** global_priv.Priv of user@host, parsed; undefined when the account does not exist. */
  privOf(user: string, host: string): Promise<Record<string, unknown> | undefined>;
  /** Kills the server and removes its files. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartMariaDbOptions {
  rootPassword?: string;
}

const HARNESS_USER = "strongroom_harness";
/** Small and unsafe on purpose: a throwaway server that should start in well under a second. */
const SERVER_TUNING = [
  "--innodb-buffer-pool-size=16M",
  "--innodb-log-file-size=8M",
  "--innodb-doublewrite=0",
  "--innodb-flush-log-at-trx-commit=0",
  "--skip-log-bin",
  "--performance-schema=OFF",
];
const run = promisify(execFile);
/** mariadbd refuses to run as root unless told so; as anyone else it runs as that user. */
const asRoot = process.getuid?.() === 0 ? ["--user=root"] : [];

export async function startMariaDb(options: StartMariaDbOptions = {}): Promise<MariaDbServer> {
  const rootPassword = options.rootPassword ?? `root-${randomBytes(9).toString("base64url")}`;
  const dir = makeServerDir("strongroom-mariadb-");
  const baseDir = dir.path;
  const dataDir = join(baseDir, "data");
  const socket = join(baseDir, "mysqld.sock");
  try {
    await run(
      requireProgram("mariadb-install-db"),
      [
        "--no-defaults",
        `--datadir=${dataDir}`,
        ...asRoot,
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
        ...SERVER_TUNING,
      ],
      { timeout: 60_000 },
    );
    const { child, port } = await launch(dataDir, socket, baseDir);
    const harnessPassword = randomBytes(18).toString("base64url");
    await setUpAccounts(socket, rootPassword, harnessPassword);
    return handle({ child, port, socket, dir, rootPassword, harnessPassword });
  } catch (error) {
    dir.remove();
    throw error;
  }
}

/** Starts mariadbd on a free port. */
function launch(
  dataDir: string,
  socket: string,
  baseDir: string,
): Promise<{ child: ChildProcess; port: number }> {
  const errorLog = join(baseDir, "error.log");
  const start = async () => {
    const port = await freePort();
    const child = spawn(
      requireProgram("mariadbd"),
      [
        "--no-defaults",
        ...asRoot,
        `--datadir=${dataDir}`,
        `--socket=${socket}`,
        `--port=${port}`,
        "--bind-address=127.0.0.1",
        `--pid-file=${join(baseDir, "mysqld.pid")}`,
        `--log-error=${errorLog}`,
        `--tmpdir=${baseDir}`,
        ...SERVER_TUNING,
      ],
      { stdio: "ignore" },
    );
    return { child, port, ready: () => socketAnswers(socket), why: () => logTail(errorLog) };
  };
  return launchOnFreePorts(start, {
    program: "mariadbd",
    what: "mariadbd to accept connections",
    timeoutMs: 30_000,
    intervalMs: 25,
    portTaken: /Address already in use|Can't start server: Bind/,
  });
}

const logTail = (file: string) => {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-5).join(" | ");
  } catch {
    return "(no error log)";
  }
};

async function socketAnswers(socket: string): Promise<boolean> {
  try {
    const connection = await mysql.createConnection({ socketPath: socket, user: "root" });
    await connection.end();
    return true;
  } catch {
    return false;
  }
}

async function setUpAccounts(socket: string, rootPassword: string, harnessPassword: string) {
  const connection = await mysql.createConnection({
    socketPath: socket,
    user: "root",
    multipleStatements: true,
  });
  try {
    const [rows] = await connection.query(
      "SELECT Host AS host FROM mysql.global_priv WHERE User = 'root' OR User = ''",
    );
    // mariadb-install-db also made root@<hostname>: gone, so the four variants are the only ones.
    for (const { host } of rows as Array<{ host: string }>) {
      if (!(ROOT_HOSTS as readonly string[]).includes(host)) {
        await connection.query("DROP USER IF EXISTS ?@?", ["root", host]);
        await connection.query("DROP USER IF EXISTS ''@?", [host]);
      }
    }
    await connection.query(
      "CREATE USER ?@'localhost' IDENTIFIED BY ?; GRANT ALL ON *.* TO ?@'localhost' WITH GRANT OPTION",
      [HARNESS_USER, harnessPassword, HARNESS_USER],
    );
    for (const host of ROOT_HOSTS) {
      await connection.query(
        "CREATE USER IF NOT EXISTS 'root'@?; GRANT ALL ON *.* TO 'root'@? WITH GRANT OPTION",
        [host, host],
      );
      await connection.query("ALTER USER 'root'@? IDENTIFIED BY ?", [host, rootPassword]);
    }
  } finally {
    await connection.end();
  }
}

interface Running {
  child: ChildProcess;
  port: number;
  socket: string;
  dir: ServerDir;
  rootPassword: string;
  harnessPassword: string;
}

function handle(running: Running): MariaDbServer {
  const { child, port, socket, dir, rootPassword, harnessPassword } = running;
  let admin: Promise<Connection> | undefined;
  const adminConnection = () => {
    admin ??= mysql.createConnection({
      socketPath: socket,
      user: HARNESS_USER,
      password: harnessPassword,
      multipleStatements: true,
    });
    return admin;
  };
  const loginAs = async (user: string, password: string) => {
    let connection: Connection;
    try {
      connection = await mysql.createConnection({ host: "127.0.0.1", port, user, password });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ER_ACCESS_DENIED_ERROR" || code === "ER_ACCESS_DENIED_NO_PASSWORD_ERROR") {
        return undefined;
      }
      throw error;
    }
    try {
      const [rows] = await connection.query("SELECT CURRENT_USER() AS who");
      return (rows as Array<{ who: string }>)[0]?.who;
    } finally {
      await connection.end();
    }
  };
  const sql = async <T>(statement: string, values?: unknown[]) => {
    const [rows] = await (await adminConnection()).query(statement, values);
    return (Array.isArray(rows) ? rows : [rows]) as T[];
  };
  let stopped: Promise<void> | undefined;
  return {
    host: "127.0.0.1",
    port,
    socket,
    baseDir: dir.path,
    rootPassword,
    sql,
    loginAs,
    canLogin: async (user, password) => (await loginAs(user, password)) !== undefined,
    async privOf(user, host) {
      const rows = await sql<{ priv: string | Record<string, unknown> }>(
        "SELECT Priv AS priv FROM mysql.global_priv WHERE User = ? AND Host = ?",
        [user, host],
      );
      const priv = rows[0]?.priv;
      // mysql2 parses the column itself when the server flags it as JSON.
      return typeof priv === "string" ? (JSON.parse(priv) as Record<string, unknown>) : priv;
    },
    stop() {
      stopped ??= (async () => {
        if (admin) await (await admin.catch(() => undefined))?.end().catch(() => {});
        await killAndWait(child);
        dir.remove();
      })();
      return stopped;
    },
  };
}

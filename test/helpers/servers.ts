/**
 * Which Debian server binaries the integration tests run (private MariaDB and RabbitMQ
 * instances), and `describeWithServers`: like describeWithPython, a missing binary fails the
 * suite under CI=true and skips it, with the reason printed, elsewhere.
 */
import { accessSync, constants } from "node:fs";
import { tmpdir } from "node:os";
import { describe, it } from "vitest";

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
export function fastTempRoot(): string {
  try {
    accessSync("/dev/shm", constants.W_OK | constants.X_OK);
    return "/dev/shm";
  } catch {
    return tmpdir();
  }
}

function inCI(): boolean {
  const ci = process.env["CI"];
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

/** `describe` for suites that start private servers (see mariadb-server.ts, rabbitmq-server.ts). */
export function describeWithServers(
  kinds: readonly ServerKind[],
  name: string,
  fn: () => void,
): void {
  const reason = missingServers(kinds);
  if (reason === undefined) {
    describe(name, fn);
    return;
  }
  if (inCI()) {
    describe(name, () => {
      it(`needs ${kinds.join(" and ")} server binaries`, () => {
        throw new Error(`${reason} (CI must provide them: see scripts/system-deps.json)`);
      });
    });
    return;
  }
  console.warn(`[skip] ${name}: ${reason}`);
  describe.skip(`${name} [skipped: ${reason}]`, fn);
}

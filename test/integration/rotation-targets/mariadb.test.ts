import { readFileSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, expect, it } from "vitest";
import { driver } from "../../../drivers/rotation-targets/mariadb/index.js";
import type { RotationTarget, RotationValues } from "../../../drivers/types.js";
import type { TargetSpec } from "../../../src/config/manifest-types.js";
import { type MariaDbServer, ROOT_HOSTS, startMariaDb } from "../../helpers/mariadb-server.js";
import { describeWithServers } from "../../helpers/servers.js";

const ROOT_V1 = "root-current-1";
const ROOT_V2 = "root-next-2";

describeWithServers(["mariadb"], "the mariadb rotation target (private MariaDB)", () => {
  let db: MariaDbServer;
  /** What the store holds for MysqlRootPassword (current first), read by adminPasswords(). */
  let adminPasswords: string[] = [ROOT_V1];

  beforeAll(async () => {
    db = await startMariaDb({ rootPassword: ROOT_V1 });
  });
  afterAll(() => db?.stop());

  const server = (): TargetSpec => ({
    name: "db",
    kind: "mariadb",
    host: "127.0.0.1",
    port: db.port,
    adminUser: "root",
    adminSecret: "MysqlRootPassword",
    tls: false,
  });

  const target = (accounts: string[]): Promise<RotationTarget> =>
    driver.create(
      {
        kind: "mariadb",
        server: "db",
        accounts: accounts.map((a) => {
          const at = a.lastIndexOf("@");
          return { user: a.slice(0, at), host: a.slice(at + 1) };
        }),
      },
      { server: server(), adminPasswords: async () => [...adminPasswords] },
    );

  async function createUser(user: string, hosts: string[], password: string): Promise<string[]> {
    for (const host of hosts) {
      await db.sql("CREATE USER ?@? IDENTIFIED BY ?", [user, host, password]);
      await db.sql("GRANT SELECT ON mysql.* TO ?@?", [user, host]);
    }
    return hosts.map((h) => `${user}@${h}`);
  }

  /** The native hashes in user@host's auth chain, in order, as the server computes them. */
  async function hashesOf(user: string, host: string): Promise<string[]> {
    const priv = (await db.privOf(user, host))!;
    const top = { plugin: priv["plugin"], authentication_string: priv["authentication_string"] };
    const chain = Array.isArray(priv["auth_or"])
      ? (priv["auth_or"] as Record<string, unknown>[]).map((e) =>
          Object.keys(e).length === 0 ? top : e,
        )
      : [top];
    return chain.map((m) =>
      m.plugin === "mysql_native_password" ? String(m.authentication_string) : String(m.plugin),
    );
  }
  const hash = async (password: string) =>
    (await db.sql<{ h: string }>("SELECT PASSWORD(?) AS h", [password]))[0]!.h;

  const values = (current: string, next: string): RotationValues => ({
    current,
    next,
    currentVersion: 1,
  });

  it("apply: every variant accepts old and new; retire: only the new one; both idempotent", async () => {
    const hosts = ["%", "localhost", "127.0.0.1"];
    const accounts = await createUser("nova", hosts, "nova-v1");
    const next = `n'e"x\\t $é%-v2`; // quoting, escaping and UTF-8 must not matter
    const nova = await target(accounts);
    expect(nova.describe()).toEqual({ kind: "mariadb", accounts, overlap: "dual" });

    await nova.apply(values("nova-v1", next));
    expect(await db.loginAs("nova", "nova-v1")).toBe("nova@localhost");
    expect(await db.loginAs("nova", next)).toBe("nova@localhost");
    for (const host of hosts) {
      expect(await hashesOf("nova", host)).toEqual([await hash("nova-v1"), await hash(next)]);
    }
    expect(await nova.accepts("nova-v1")).toBe(true);
    expect(await nova.accepts(next)).toBe(true);
    expect(await nova.accepts("something-else")).toBe(false);

    const before = await db.privOf("nova", "%");
    await nova.apply(values("nova-v1", next));
    expect(await db.privOf("nova", "%")).toEqual(before);

    await nova.retire(values("nova-v1", next));
    expect(await db.canLogin("nova", "nova-v1")).toBe(false);
    expect(await db.canLogin("nova", next)).toBe(true);
    for (const host of hosts) expect(await hashesOf("nova", host)).toEqual([await hash(next)]);
    expect(await nova.accepts("nova-v1")).toBe(false);
    expect(await nova.accepts(next)).toBe(true);
    await nova.retire(values("nova-v1", next));
    expect(await nova.accepts(next)).toBe(true);
  });

  it("checks every host variant, not only the one a local login reaches", async () => {
    const accounts = await createUser("glance", ["%", "localhost"], "glance-v1");
    const glance = await target(accounts);
    await glance.apply(values("glance-v1", "glance-v2"));
    // Someone resets glance@% behind our back: a login from 127.0.0.1 still works (it hits
    // glance@localhost), yet the target must not claim the new value is accepted everywhere.
    await db.sql("ALTER USER 'glance'@'%' IDENTIFIED BY 'glance-v1'");
    expect(await db.loginAs("glance", "glance-v2")).toBe("glance@localhost");
    expect(await glance.accepts("glance-v2")).toBe(false);
    await glance.apply(values("glance-v1", "glance-v2"));
    expect(await glance.accepts("glance-v2")).toBe(true);
  });

  it("rollback leaves only the current value, after a full or a half-done apply", async () => {
    const accounts = await createUser("cinder", ["%", "localhost"], "cinder-v1");
    const cinder = await target(accounts);
    await cinder.apply(values("cinder-v1", "cinder-v2"));
    await cinder.rollback(values("cinder-v1", "cinder-v2"));
    expect(await db.canLogin("cinder", "cinder-v1")).toBe(true);
    expect(await db.canLogin("cinder", "cinder-v2")).toBe(false);
    for (const host of ["%", "localhost"]) {
      expect(await hashesOf("cinder", host)).toEqual([await hash("cinder-v1")]);
    }
    // A crash in the middle of apply: only cinder@localhost got the OR-chain.
    await db.sql(
      "ALTER USER 'cinder'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('cinder-v1') OR mysql_native_password USING PASSWORD('cinder-v2')",
    );
    await cinder.rollback(values("cinder-v1", "cinder-v2"));
    await cinder.rollback(values("cinder-v1", "cinder-v2"));
    expect(await cinder.accepts("cinder-v1")).toBe(true);
    expect(await cinder.accepts("cinder-v2")).toBe(false);
  });

  it("resumes after a crash between and inside steps (a fresh target object each time)", async () => {
    const accounts = await createUser("heat", ["%", "localhost"], "heat-v1");
    const v = values("heat-v1", "heat-v2");
    // Crash inside apply: heat@% already has both, heat@localhost nothing yet.
    await db.sql(
      "ALTER USER 'heat'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('heat-v1') OR mysql_native_password USING PASSWORD('heat-v2')",
    );
    await (await target(accounts)).apply(v);
    expect(await (await target(accounts)).accepts("heat-v1")).toBe(true);
    expect(await (await target(accounts)).accepts("heat-v2")).toBe(true);
    // Crash inside retire: heat@localhost already retired, heat@% not yet.
    await db.sql("ALTER USER 'heat'@'localhost' IDENTIFIED BY 'heat-v2'");
    await (await target(accounts)).retire(v);
    await (await target(accounts)).retire(v);
    for (const host of ["%", "localhost"]) {
      expect(await hashesOf("heat", host)).toEqual([await hash("heat-v2")]);
    }
  });

  it("fails on a missing account with one line naming it, changing nothing", async () => {
    const accounts = await createUser("keystone", ["localhost"], "ks-v1");
    const before = await db.privOf("keystone", "localhost");
    const keystone = await target([...accounts, "keystone@%"]);
    const failure = await keystone.apply(values("ks-v1", "ks-v2")).catch((e: Error) => e);
    expect(failure).toMatchObject({ code: "STRONGROOM_ERR_TARGET" });
    expect((failure as Error).message).toMatch(
      /MariaDB account keystone@% does not exist on target "db"/,
    );
    expect((failure as Error).message).not.toMatch(/ks-v/);
    expect((failure as Error).message).not.toContain("\n");
    expect(await db.privOf("keystone", "localhost")).toEqual(before);
  });

  it("reports admin passwords that no longer work without showing them", async () => {
    const accounts = await createUser("swift", ["localhost"], "swift-v1");
    const saved = adminPasswords;
    adminPasswords = ["wrong-admin-1", "wrong-admin-2"];
    try {
      const failure = await (await target(accounts))
        .apply(values("swift-v1", "swift-v2"))
        .catch((e: Error) => e);
      expect((failure as Error).message).toMatch(
        /cannot log in to target "db" \(127\.0\.0\.1:\d+\) as root: none of its 2 admin password candidate\(s\) is accepted/,
      );
      expect((failure as Error).message).not.toMatch(/wrong-admin|swift-v/);
    } finally {
      adminPasswords = saved;
    }
  });

  it("names an unreachable server in one line", async () => {
    const unreachable = await driver.create(
      { kind: "mariadb", server: "db", accounts: [{ user: "nova", host: "%" }] },
      { server: { ...server(), port: 1 }, adminPasswords: async () => ["admin-secret"] },
    );
    const failure = await unreachable.apply(values("x-v1", "x-v2")).catch((e: Error) => e);
    expect((failure as Error).message).toMatch(
      /^MariaDB target "db" \(127\.0\.0\.1:1\): admin login failed: connect ECONNREFUSED 127\.0\.0\.1:1$/,
    );
  });

  it("sends only hashes to the server, never a password (general log)", async () => {
    const accounts = await createUser("placement", ["localhost"], "placement-v1");
    const log = join(db.baseDir, "general.log");
    await db.sql(`SET GLOBAL general_log_file = ?, GLOBAL general_log = ON`, [log]);
    try {
      await (await target(accounts)).apply(values("placement-v1", "placement-v2"));
    } finally {
      await db.sql("SET GLOBAL general_log = OFF");
    }
    const text = readFileSync(log, "utf8");
    expect(text).toContain("ALTER USER");
    expect(text).toContain(await hash("placement-v2"));
    expect(text).not.toContain("placement-v2");
  });

  it("rotates root itself, and strongroom can still administer the server", async () => {
    const roots = ROOT_HOSTS.map((h) => `root@${h}`);
    const root = await target(roots);
    const v = values(ROOT_V1, ROOT_V2);
    await root.apply(v);
    expect(await db.canLogin("root", ROOT_V1)).toBe(true);
    expect(await db.canLogin("root", ROOT_V2)).toBe(true);
    expect(await root.accepts(ROOT_V2)).toBe(true);
    // Committed: the store now says ROOT_V2 is current, ROOT_V1 previous.
    adminPasswords = [ROOT_V2, ROOT_V1];
    await root.retire(v);
    expect(await db.canLogin("root", ROOT_V1)).toBe(false);
    for (const host of ROOT_HOSTS)
      expect(await hashesOf("root", host)).toEqual([await hash(ROOT_V2)]);
    // A resumed retire whose store still lists only the old value probes next first.
    adminPasswords = [ROOT_V1];
    await (await target(roots)).retire(v);
    expect(await root.accepts(ROOT_V2)).toBe(true);
    expect(await root.accepts(ROOT_V1)).toBe(false);

    adminPasswords = [ROOT_V2, ROOT_V1];
    const accounts = await createUser("neutron", ["%", "localhost"], "neutron-v1");
    const neutron = await target(accounts);
    await neutron.apply(values("neutron-v1", "neutron-v2"));
    expect(await neutron.accepts("neutron-v2")).toBe(true);
  });

  it("survives ERROR 1699 (SET PASSWORD on unix_socket OR native reports failure, yet changes it)", async () => {
    const current = adminPasswords[0]!;
    const next = "root-after-1699";
    await db.sql(
      "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(?)",
      [current],
    );
    const error = await db
      .sql("SET PASSWORD FOR 'root'@'localhost' = PASSWORD(?)", [next])
      .catch((e: { errno?: number }) => e);
    expect(error).toMatchObject({ errno: 1699 });
    expect(await db.canLogin("root", next)).toBe(true); // it changed anyway
    expect(await db.canLogin("root", current)).toBe(false);

    // The store still says `current`: apply must log in with `next` and converge.
    const roots = ROOT_HOSTS.map((h) => `root@${h}`);
    const root = await target(roots);
    await root.apply(values(current, next));
    expect(await hashesOf("root", "localhost")).toEqual([
      "unix_socket",
      await hash(current),
      await hash(next),
    ]);
    expect(await root.accepts(current)).toBe(true);
    expect(await root.accepts(next)).toBe(true);
    await root.retire(values(current, next));
    expect(await hashesOf("root", "localhost")).toEqual(["unix_socket", await hash(next)]);
    expect(await db.canLogin("root", current)).toBe(false);
    // unix_socket survived: the OS root still logs in through the socket without a password.
    const viaSocket = await mysql.createConnection({ socketPath: db.socket, user: "root" });
    await viaSocket.end();
    adminPasswords = [next];
  });
});

/**
 * examples/kolla end to end: `strongroom up` with the example manifest (adapted to a private
 * MariaDB and RabbitMQ, a temp state dir and config dir), seeded from the example's kolla-style
 * passwords file, then a rotation of nova_database_password: MariaDB takes the new value, the
 * example's restart command (`examples/kolla/kolla-restart`) renders each nova container's
 * config and restarts it, and kolla-readpwd's hvac calls (test/compat/kolla_readpwd.py) read
 * the new value from kolla's Vault layout.
 *
 * No container engine runs here: `docker` on the broker's PATH is a script that records its
 * argv (the restart commands), and `strongroom` on that PATH runs this build.
 *
 * Seeded from the example's passwords.yml as it is (kolla's format, detected from its keys), with
 * only database_password set to the private MariaDB's root password.
 */
import { createHmac, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse, parseDocument } from "yaml";
import { type MariaDbServer, startMariaDb } from "../helpers/mariadb-server.js";
import { describeWithPython, REPO_ROOT, runPythonJson } from "../helpers/python.js";
import { type RabbitMqServer, startRabbitMq } from "../helpers/rabbitmq-server.js";
import { describeWithServers } from "../helpers/servers.js";
import { storedSecret } from "../helpers/stored-secrets.js";
import { BIN, useUp } from "../helpers/strongroom-up.js";

const EXAMPLE = join(REPO_ROOT, "examples", "kolla");
const DEPLOYMENT = "kolla";
const NOVA = ["nova_api", "nova_conductor"];
const DIGEST_KEY = randomBytes(32);
const digest = (text: string) =>
  createHmac("sha256", DIGEST_KEY).update(text, "utf8").digest("hex");

describeWithServers(["mariadb", "rabbitmq"], "examples/kolla end to end", () => {
  describeWithPython(["hvac"], "with kolla-readpwd's hvac calls", () => {
    let db: MariaDbServer;
    let mq: RabbitMqServer;
    const passwords = parse(readFileSync(join(EXAMPLE, "passwords.yml"), "utf8")) as Record<
      string,
      string
    >;

    /** The example manifest with this run's ports, RabbitMQ node, state dir and config dir. */
    const adaptedManifest = () => {
      const text = readFileSync(join(EXAMPLE, "manifest.yaml"), "utf8")
        .replaceAll("/var/lib/strongroom", stateDir)
        .replaceAll("/etc/kolla/", `${configDir}/`)
        .replaceAll("examples/kolla/kolla-restart", join(EXAMPLE, "kolla-restart"));
      const doc = parseDocument(text);
      doc.setIn(["variables", "database_port"], String(db.port));
      doc.setIn(["variables", "rabbitmq_port"], String(mq.port));
      doc.setIn(["targets", "db", "port"], db.port);
      doc.setIn(["targets", "mq", "port"], mq.port);
      doc.setIn(["targets", "mq", "node"], mq.node);
      doc.setIn(["targets", "mq", "rabbitmqctl"], mq.rabbitmqctl);
      return doc.toString();
    };

    // Registered before useUp, so they run before `up` starts and after it stopped.
    beforeAll(async () => {
      [db, mq] = await Promise.all([startMariaDb(), startRabbitMq()]);
      await db.sql("CREATE DATABASE nova");
      for (const host of ["localhost", "%"]) {
        await db.sql("CREATE USER ?@? IDENTIFIED BY ?", [
          "nova",
          host,
          passwords["nova_database_password"]!,
        ]);
        await db.sql("GRANT ALL ON nova.* TO ?@?", ["nova", host]);
      }
      const rabbitUser = await mq.ctl(["add_user", "openstack"], passwords["rabbitmq_password"]!);
      expect(rabbitUser.code).toBe(0);
      mkdirSync(bin, { mode: 0o700 });
      writeFileSync(join(bin, "docker"), `#!/bin/sh\necho "$*" >> '${engineLog}'\n`);
      writeFileSync(
        join(bin, "strongroom"),
        `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`,
      );
      for (const file of ["docker", "strongroom"]) chmodSync(join(bin, file), 0o700);
      writeFileSync(at("manifest.yaml"), adaptedManifest());
      const passwordsYml = parseDocument(readFileSync(join(EXAMPLE, "passwords.yml"), "utf8"));
      passwordsYml.set("database_password", db.rootPassword);
      writeFileSync(at("passwords.yml"), passwordsYml.toString());
    }, 240_000);

    afterAll(async () => {
      await Promise.all([db?.stop(), mq?.stop()]);
    }, 120_000);

    const { root, stateDir, at, cli, run } = useUp("strongroom-kolla-example-", {
      start: (root) => ({
        args: ["--seed", join(root, "passwords.yml")],
        manifest: join(root, "manifest.yaml"),
        env: { PATH: `${join(root, "bin")}:${process.env["PATH"]}` },
      }),
      stopSignal: "SIGTERM",
    });
    const configDir = at("etc-kolla");
    const bin = at("bin");
    const engineLog = at("docker.log");

    beforeAll(async () => {
      await cli(["service-kit", "kolla-readpwd", "--out", at("kit")]);
    });

    const readpwd = async () => {
      const { result, output } = await runPythonJson<{
        keys: string[];
        values: Record<string, string>;
      }>("test/compat/kolla_readpwd.py", [join(root, "kit")], {
        env: { KOLLA_DIGEST_KEY: DIGEST_KEY.toString("hex") },
      });
      expect(result.code, result.stderr.slice(-2000)).toBe(0);
      return output;
    };

    it("kolla-readpwd's calls read every key of the example's passwords.yml after seed", async () => {
      const read = await readpwd();
      expect(read.keys).toEqual(Object.keys(passwords).sort());
      expect(read.values["nova_keystone_password"]).toBe(
        digest(passwords["nova_keystone_password"]!),
      );
      expect(read.values["database_password"]).toBe(digest(db.rootPassword));
    });

    it("rotates nova_database_password: MariaDB takes the new value, each nova container's config is rendered and it restarts, kolla-readpwd reads the new value", async () => {
      const rotated = await run(["rotate", "nova_database_password", "--yes", "--json"]);
      expect(rotated.code, rotated.stderr).toBe(0);
      expect(JSON.parse(rotated.stdout).rotations[0]).toMatchObject({
        status: "done",
        toVersion: 2,
        restarted: NOVA,
      });
      const after = await storedSecret(stateDir, DEPLOYMENT, "nova_database_password");
      expect(await db.canLogin("nova", after.value)).toBe(true);
      expect(await db.canLogin("nova", passwords["nova_database_password"]!)).toBe(false);

      expect(readFileSync(engineLog, "utf8").trim().split("\n")).toEqual(
        NOVA.map((container) => `restart ${container}`),
      );
      for (const [container, dir] of [
        ["nova_api", "nova-api"],
        ["nova_conductor", "nova-conductor"],
      ] as const) {
        const file = join(configDir, dir, "nova.conf");
        expect(statSync(file).mode & 0o777, file).toBe(0o600);
        const conf = readFileSync(file, "utf8");
        expect(conf).toContain("[database]");
        // Booleans, so a failure never prints the password.
        expect(conf.includes(`nova:${after.value}@`), container).toBe(true);
        expect(conf.includes(passwords["nova_database_password"]!), container).toBe(false);
      }

      const read = await readpwd();
      expect(read.values["nova_database_password"]).toBe(digest(after.value));
    }, 180_000);
  });
});

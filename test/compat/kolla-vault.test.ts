/**
 * kolla's own Vault layout (`deployment.kolla_vault`), read by Debian's hvac doing exactly what
 * kolla-readpwd / kolla_ansible/hashi_vault.py do (test/compat/kolla_readpwd.py): AppRole login
 * with the kit `strongroom service-kit kolla-readpwd` writes, list the path, read each key.
 * `strongroom up` runs as a child process with its embedded Vault; values are compared as
 * HMAC digests, never printed.
 *
 * Seeded with `--format yaml` (a flat map of kolla key names); `seed --format kolla` from
 * passwords.yml replaces it once it lands.
 */
import { createHmac, randomBytes } from "node:crypto";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { describeWithPython, runPythonJson } from "../helpers/python.js";
import { vaultRead } from "../helpers/stored-secrets.js";
import { useUp } from "../helpers/strongroom-up.js";

const SCRIPT = "test/compat/kolla_readpwd.py";
const DEPLOYMENT = "kolla";
const DIGEST_KEY = randomBytes(32);
const digest = (text: string) =>
  createHmac("sha256", DIGEST_KEY).update(text, "utf8").digest("hex");

interface ReadOutput {
  keys: string[];
  values: Record<string, string | Record<string, string>>;
  versions: Record<string, number>;
  missing: string;
}

const MANIFEST = `
deployment:
  name: ${DEPLOYMENT}
  kolla_vault: {}
secrets:
  database_password: {}
  nova_database_password: {}
  nova_keystone_password: {}
  keystone_admin_password: {}
  nova_ssh_key: { generator: { kind: ssh-keypair, bits: 2048 } }
services:
  nova:
    options:
      database:
        connection: "mysql+pymysql://nova:{{ secret.nova_database_password | urlencode }}@db/nova"
      keystone_authtoken:
        password: "{{ secret.nova_keystone_password }}"
  keystone:
    options:
      database:
        connection: "mysql+pymysql://root:{{ secret.database_password | urlencode }}@db/keystone"
`;
const KEYS = [
  "database_password",
  "keystone_admin_password",
  "nova_database_password",
  "nova_keystone_password",
  "nova_ssh_key",
];

describeWithPython(["hvac"], "kolla-readpwd's hvac calls against kolla_vault", () => {
  const seeded = {
    database_password: randomBytes(12).toString("hex"),
    nova_database_password: randomBytes(12).toString("hex"),
    nova_keystone_password: randomBytes(12).toString("hex"),
    keystone_admin_password: randomBytes(12).toString("hex"),
  };

  beforeAll(() => {
    writeFileSync(at("manifest.yaml"), MANIFEST);
    writeFileSync(at("passwords.yaml"), JSON.stringify(seeded));
  });

  const { root, stateDir, at, cli, run } = useUp("strongroom-kolla-vault-", {
    start: (root) => ({
      args: ["--seed", join(root, "passwords.yaml")],
      manifest: join(root, "manifest.yaml"),
    }),
    stopSignal: "SIGTERM",
  });

  beforeAll(async () => {
    await cli(["service-kit", "kolla-readpwd", "--out", join(root, "kit")]);
  });

  const readpwd = async (args: string[] = []) => {
    const { result, output } = await runPythonJson<ReadOutput>(
      SCRIPT,
      [join(root, "kit"), ...args],
      {
        env: { KOLLA_DIGEST_KEY: DIGEST_KEY.toString("hex") },
      },
    );
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    return output;
  };
  /** The stored value of a secret (a map as JSON), straight from strongroom's own records. */
  const stored = async (name: string) => {
    const { data, metadata } = await vaultRead(stateDir, DEPLOYMENT, `secrets/${name}`);
    const text = Buffer.from(String(data["value"]), "hex").toString("utf8");
    return { text, type: data["type"], version: metadata.version };
  };
  const expectedDigest = async (name: string) => {
    const { text, type } = await stored(name);
    if (type === "opaque") {
      const map = JSON.parse(text) as Record<string, string>;
      return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, digest(v)]));
    }
    return digest(text);
  };

  it("the kit is 0600 files in a 0700 dir and reads every key, strings as {password}, maps as they are", async () => {
    expect(statSync(join(root, "kit")).mode & 0o777).toBe(0o700);
    for (const file of ["role-id", "secret-id", "kolla-vault.json", "kolla-readpwd.sh"]) {
      expect(statSync(join(root, "kit", file)).mode & 0o777, file).toBe(0o600);
    }
    const read = await readpwd();
    expect(read.keys).toEqual(KEYS);
    for (const key of KEYS) expect(read.values[key], key).toEqual(await expectedDigest(key));
    expect(Object.keys(read.values["nova_ssh_key"] as object).sort()).toEqual([
      "private_key",
      "public_key",
    ]);
    expect(read.values["database_password"]).toBe(digest(seeded.database_password));
    expect(read.missing).toBe("InvalidPath");
    // Written once at seed; the full sync at `up` found nothing changed.
    expect(Object.values(read.versions)).toEqual(KEYS.map(() => 1));
  });

  it("a rotation's commit updates the copy: kolla reads the new value, the others keep version 1", async () => {
    const rotated = await run(["rotate", "nova_keystone_password", "--yes", "--json"]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const after = await stored("nova_keystone_password");
    expect(after.version).toBe(2);
    const read = await readpwd();
    expect(read.values["nova_keystone_password"]).toBe(digest(after.text));
    expect(read.values["nova_keystone_password"]).not.toBe(digest(seeded.nova_keystone_password));
    expect(read.versions).toEqual({
      ...Object.fromEntries(KEYS.map((k) => [k, 1])),
      nova_keystone_password: 2,
    });
  }, 120_000);

  it("a token of another service's AppRole is refused (403) on kolla's path", async () => {
    const kit = await run(["service-kit", "nova", "--out", join(root, "nova-kit")]);
    expect(kit.code, kit.stderr).toBe(0);
    const { result, output } = await runPythonJson<{ refused: Record<string, boolean> }>(
      SCRIPT,
      [join(root, "kit"), "--login", join(root, "nova-kit", "castellan.conf")],
      { env: { KOLLA_DIGEST_KEY: DIGEST_KEY.toString("hex") } },
    );
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    expect(output.refused).toEqual({ list: true, read: true });
  });
});

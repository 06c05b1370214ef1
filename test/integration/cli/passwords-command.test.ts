/**
 * kolla and RHOSO against one `strongroom up` (the example TripleO manifest and passwords): kolla's
 * template seeded (detected as kolla, empty keys generated with kolla-genpwd's rules), written back
 * with `passwords --format kolla` (0600, every template key, kolla's rules hold), seeded again
 * (nothing changes: values kept); `--merge-into` keeps the template's comments; the TripleO values
 * written as RHOSO's osp-secret (a valid Kubernetes Secret) and `--diff` against it; bad inputs
 * change nothing. Values are compared as digests, never printed. Runs `node bin/strongroom.js`.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Secret } from "kubernetes-models/v1";
import type { Static } from "typebox";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { KOLLA_PASSWORD_KEYS, KOLLA_SSH_KEYS } from "../../../src/config/kolla-passwords.js";
import type { SeedAnswer } from "../../../src/server/wire.js";
import { KOLLA_TEMPLATE } from "../../helpers/kolla.js";
import { secretDigests } from "../../helpers/secret-digests.js";
import { EXAMPLE_PASSWORDS, useUp } from "../../helpers/strongroom-up.js";
import { expectFailure } from "./cli-assertions.js";

type Seeded = Static<typeof SeedAnswer>;

const { at, run } = useUp("strongroom-cli-passwords-");

async function jsonOf<T>(args: string[]): Promise<T> {
  const result = await run([...args, "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

const readYaml = (file: string) => parse(readFileSync(file, "utf8")) as Record<string, unknown>;
const actions = (answer: Seeded) => [...new Set(answer.entries.map((e) => e.action))].sort();

describe("kolla: template → seed → passwords → seed", () => {
  let seeded: Seeded;
  beforeAll(async () => {
    seeded = await jsonOf<Seeded>(["seed", KOLLA_TEMPLATE]);
  }, 120_000);

  it("seed detects kolla's passwords.yml and generates every key but docker_registry_password", () => {
    const generated = seeded.entries.filter((e) => e.action === "generate").map((e) => e.name);
    expect(generated.sort()).toEqual(
      KOLLA_PASSWORD_KEYS.filter((k) => k !== "docker_registry_password").sort(),
    );
    expect(seeded.written).toBe(105);
  });

  it("passwords --format kolla: 0600, every template key sorted, values that follow kolla's rules", async () => {
    const out = at("passwords.yml");
    const written = await jsonOf<{ file: string; written: number; missing: string[] }>([
      "passwords",
      "--format",
      "kolla",
      "--out",
      out,
    ]);
    expect(written).toMatchObject({ file: out, written: 105, missing: [], format: "kolla" });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const file = readYaml(out);
    expect(Object.keys(file)).toEqual([...KOLLA_PASSWORD_KEYS].sort());
    expect(file.docker_registry_password).toBeNull();
    expect(file.database_password).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(file.rbd_secret_uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(file.designate_rndc_key).toMatch(/^[0-9a-f]{32}$/);
    expect(file.barbican_crypto_key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(file.prometheus_bcrypt_salt).toMatch(/^[A-Za-z0-9./]{22}$/);
    for (const key of KOLLA_SSH_KEYS) {
      expect(Object.keys(file[key] as object).sort(), key).toEqual(["private_key", "public_key"]);
    }
  });

  it("seeding the written file again keeps every value: all kept, nothing written", async () => {
    const again = await jsonOf<Seeded>(["seed", at("passwords.yml")]);
    expect(again.written).toBe(0);
    expect(actions(again)).toEqual(["keep"]);
    // ... and the store still writes the same file.
    await jsonOf(["passwords", "--format", "kolla", "--out", at("passwords-2.yml")]);
    expect(secretDigests(readYaml(at("passwords-2.yml")))).toEqual(
      secretDigests(readYaml(at("passwords.yml"))),
    );
  });

  it("--merge-into kolla's template: its comments and order, the store's values", async () => {
    const out = at("merged.yml");
    const result = await run([
      "passwords",
      "--format",
      "kolla",
      "--merge-into",
      KOLLA_TEMPLATE,
      "--out",
      out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${out}: kolla passwords of overcloud, 105 keys with a value\n`);
    const template = readFileSync(KOLLA_TEMPLATE, "utf8");
    const comments = (t: string) => t.split("\n").filter((l) => l.startsWith("#"));
    expect(comments(readFileSync(out, "utf8"))).toEqual(comments(template));
    expect(Object.keys(readYaml(out))).toEqual(Object.keys(parse(template) as object));
    expect(secretDigests(readYaml(out))).toEqual(
      secretDigests({ ...(parse(template) as object), ...readYaml(at("passwords.yml")) }),
    );
  });

  it("--out - writes the file to stdout, and only when asked", async () => {
    const result = await run(["passwords", "--format", "kolla", "--out", "-"]);
    expect(result.code, result.stderr).toBe(0);
    expect(secretDigests(parse(result.stdout))).toEqual(
      secretDigests(readYaml(at("passwords.yml"))),
    );
  });
});

describe("RHOSO: the TripleO values as osp-secret", () => {
  it("passwords --format osp-secret: a valid Kubernetes Secret with the TripleO values", async () => {
    const out = at("osp-secret.yaml");
    const result = await run(["passwords", "--format", "osp-secret", "--out", out]);
    expect(result.code, result.stderr).toBe(0);
    const secret = readYaml(out) as { data: Record<string, string> };
    expect(() => new Secret(secret as never).validate()).not.toThrow();
    const tripleo = parse(readFileSync(EXAMPLE_PASSWORDS, "utf8")).parameter_defaults;
    const decoded = (key: string) => Buffer.from(secret.data[key]!, "base64").toString("utf8");
    expect(secretDigests([decoded("DbRootPassword"), decoded("NovaPassword")])).toEqual(
      secretDigests([tripleo.MysqlRootPassword, tripleo.NovaPassword]),
    );
  });

  it("--diff: exit 0 when the same; exit 1 naming what differs, is missing or extra (no value)", async () => {
    const same = await run([
      "passwords",
      "--format",
      "osp-secret",
      "--diff",
      at("osp-secret.yaml"),
    ]);
    expect(same.code, same.stderr).toBe(0);
    const secret = readYaml(at("osp-secret.yaml")) as { data: Record<string, string> };
    secret.data.NovaPassword = Buffer.from("an old value").toString("base64");
    delete secret.data.AdminPassword;
    // No source in this store (WatcherPassword has one: kolla's watcher_keystone_password, seeded above).
    secret.data.KeystoneOIDCClientSecret = Buffer.from("set by RHOSO").toString("base64");
    writeFileSync(at("old-secret.yaml"), stringify(secret));
    const result = await run([
      "passwords",
      "--format",
      "osp-secret",
      "--diff",
      at("old-secret.yaml"),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("");
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines.slice(0, -1)).toEqual([
      "differs  NovaPassword",
      "missing  AdminPassword",
      "extra    KeystoneOIDCClientSecret",
    ]);
    expect(lines.at(-1)).toMatch(
      /: \d+ same, 1 differ, 1 missing, 1 extra \(not from overcloud\)$/,
    );
    const json = await run([
      "passwords",
      "--format",
      "osp-secret",
      "--diff",
      at("old-secret.yaml"),
      "--json",
    ]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      deployment: "overcloud",
      differs: ["NovaPassword"],
      missing: ["AdminPassword"],
      extra: ["KeystoneOIDCClientSecret"],
    });
  });
});

// The broker refuses them with a 400, which the CLI relays with exit 2 (docs/errors.md).
describe("bad inputs name file:line and change nothing", () => {
  it("seed --strict with a key kolla does not know: STRONGROOM_ERR_SEED_INPUT, nothing written", async () => {
    const file = at("custom.yml");
    writeFileSync(file, "database_password:\nmy_site_password: a-value\n");
    const result = await run(["seed", file, "--strict"]);
    const message = expectFailure(result, {
      code: "STRONGROOM_ERR_SEED_INPUT",
      exit: 2,
      json: false,
    });
    expect(message).toBe(
      "custom.yml:2:1: my_site_password is not a key of kolla-ansible's passwords.yml",
    );
    const plan = await jsonOf<Seeded>(["seed", file, "--dry-run"]);
    expect(plan.entries.find((e) => e.name === "my_site_password")?.action).toBe("import");
  });

  it("seed of a kolla file with a wrong type or a duplicate key: file:line, the store unchanged", async () => {
    const before = await jsonOf<{ secrets: Array<{ name: string; version: number }> }>(["secrets"]);
    const cases = [
      [
        "types.yml",
        "database_password: 12345\nnova_ssh_key: a-string\n",
        [
          "types.yml:1:1: database_password must be a string, not a number (quote it)",
          "types.yml:2:1: nova_ssh_key must be a map {private_key, public_key}",
        ],
      ],
      [
        "twice.yml",
        "keystone_admin_password: one\netcd_cluster_token:\nkeystone_admin_password: two\n",
        ["twice.yml:3:1: duplicate key"],
      ],
    ] as const;
    for (const [name, text, problems] of cases) {
      writeFileSync(at(name), text);
      const message = expectFailure(await run(["seed", at(name)]), {
        code: "STRONGROOM_ERR_SEED_INPUT",
        exit: 2,
        json: false,
      });
      // One line on stderr: the problems follow each other.
      expect(message).toBe(problems.join(" "));
      expect(message).not.toMatch(/12345|a-string|one|two/);
    }
    expect(await jsonOf(["secrets"])).toEqual(before);
  });

  it("an --out that cannot be written: STRONGROOM_ERR_PASSWORDS_FILE, exit 1", async () => {
    writeFileSync(at("a-file"), "");
    const result = await run([
      "passwords",
      "--format",
      "tripleo",
      "--out",
      join(at("a-file"), "x.yaml"),
    ]);
    const message = expectFailure(result, {
      code: "STRONGROOM_ERR_PASSWORDS_FILE",
      exit: 1,
      json: false,
    });
    expect(message).toMatch(/a-file\/x.yaml \(E[A-Z]+\)$/);
  });

  it("--merge-into a file with a duplicate key: STRONGROOM_ERR_PASSWORDS_INPUT, no file written", async () => {
    const file = at("dup.yml");
    writeFileSync(file, "database_password: one\nrabbitmq_password:\ndatabase_password: two\n");
    const out = at("never.yml");
    const result = await run([
      "passwords",
      "--format",
      "kolla",
      "--merge-into",
      file,
      "--out",
      out,
    ]);
    const message = expectFailure(result, {
      code: "STRONGROOM_ERR_PASSWORDS_INPUT",
      exit: 2,
      json: false,
    });
    expect(message).toBe("dup.yml:3:1: duplicate key");
    expect(() => statSync(out)).toThrow();
  });
});

/**
 * Passwords files written from the store's values: kolla's passwords.yml (read back by Debian's
 * PyYAML, as kolla-ansible reads it), overcloud-passwords.yaml, RHOSO's osp-secret (validated
 * with the Kubernetes Secret model), a merge into kolla's template that keeps its comments, and a
 * diff of osp-secrets by name. Values are compared as digests, never printed.
 */
import { readFileSync } from "node:fs";
import { Secret } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { KOLLA_PASSWORD_KEYS } from "../../../src/config/kolla-passwords.js";
import type { SecretValue } from "../../../src/config/secret-value.js";
import { parseSeedInput } from "../../../src/seed/inputs.js";
import {
  diffOspSecret,
  mergeKollaPasswords,
  renderPasswordFile,
} from "../../../src/seed/password-files.js";
import { KOLLA_TEMPLATE } from "../../helpers/kolla.js";
import { describeWithPython, runPythonJson } from "../../helpers/python.js";
import { secretDigests } from "../../helpers/secret-digests.js";
import { EXAMPLE_PASSWORDS } from "../../helpers/strongroom-up.js";

const template = readFileSync(KOLLA_TEMPLATE, "utf8");
const tripleo = parseSeedInput(readFileSync(EXAMPLE_PASSWORDS, "utf8"), "overcloud-passwords.yaml");

/** A kolla store: every template key but docker_registry_password, a pair for the ssh keys. */
function kollaValues(): Map<string, SecretValue> {
  const values = new Map<string, SecretValue>();
  for (const key of KOLLA_PASSWORD_KEYS) {
    if (key === "docker_registry_password") continue;
    values.set(
      key,
      key.endsWith("_ssh_key")
        ? {
            private_key: `-----BEGIN PRIVATE KEY-----\nMII${key}\n-----END PRIVATE KEY-----\n`,
            public_key: `ssh-rsa AAAA${key}`,
          }
        : `${key}-value: with '$' "quotes" #`,
    );
  }
  return values;
}

describe("osp-secret from a TripleO passwords file", () => {
  const rendered = renderPasswordFile("osp-secret", tripleo);
  const secret = parse(rendered.text) as {
    metadata: { name: string };
    data: Record<string, string>;
  };

  it("is a valid Kubernetes Secret (kubernetes-models): v1, osp-secret, Opaque, base64 data", () => {
    expect(() => new Secret(secret as never).validate()).not.toThrow();
    expect(secret).toMatchObject({ apiVersion: "v1", kind: "Secret", type: "Opaque" });
    expect(secret.metadata).toEqual({ name: "osp-secret" });
  });

  it("holds each RHOSO key the TripleO file has a value for, copied from its TripleO parameter", () => {
    const decoded = Object.fromEntries(
      Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    );
    const expected = {
      AdminPassword: tripleo.get("AdminPassword"),
      CinderPassword: tripleo.get("CinderPassword"),
      DbRootPassword: tripleo.get("MysqlRootPassword"),
      HeatAuthEncryptionKey: tripleo.get("HeatAuthEncryptionKey"),
      HeatStackDomainAdminPassword: tripleo.get("HeatStackDomainAdminPassword"),
      IronicInspectorPassword: undefined,
      MetadataSecret: tripleo.get("NeutronMetadataProxySharedSecret"),
      NeutronPassword: tripleo.get("NeutronPassword"),
      NovaPassword: tripleo.get("NovaPassword"),
      PlacementPassword: tripleo.get("PlacementPassword"),
      SwiftPassword: tripleo.get("SwiftPassword"),
    };
    delete expected.IronicInspectorPassword;
    expect(secretDigests(decoded)).toEqual(secretDigests(expected));
    expect(rendered.written).toEqual(Object.keys(secret.data));
    expect(rendered.missing).toContain("GlancePassword");
    expect(rendered.missing).toContain("WatcherPassword");
  });
});

describe("osp-secret from a kolla store", () => {
  it("takes each RHOSO key from its kolla key: the service's Keystone password where kolla has several", () => {
    const values = kollaValues();
    const secret = parse(renderPasswordFile("osp-secret", values).text) as {
      data: Record<string, string>;
    };
    const decoded = (key: string) => Buffer.from(secret.data[key]!, "base64").toString("utf8");
    const from = {
      AdminPassword: "keystone_admin_password",
      DbRootPassword: "database_password",
      NovaPassword: "nova_keystone_password",
      OctaviaPassword: "octavia_keystone_password",
      MetadataSecret: "metadata_secret",
      WatcherPassword: "watcher_keystone_password",
    };
    expect(
      secretDigests(Object.fromEntries(Object.keys(from).map((key) => [key, decoded(key)]))),
    ).toEqual(
      secretDigests(
        Object.fromEntries(Object.entries(from).map(([key, kolla]) => [key, values.get(kolla)])),
      ),
    );
    // No kolla key: TripleO's HeatAuthEncryptionKey, RHOSO's own DatabasePassword.
    expect(Object.keys(secret.data)).not.toContain("HeatAuthEncryptionKey");
    expect(Object.keys(secret.data)).not.toContain("DatabasePassword");
  });
});

describe("overcloud-passwords.yaml", () => {
  it("parameter_defaults with every stored TripleO name, sorted, values as stored", () => {
    const rendered = renderPasswordFile("tripleo", tripleo);
    const file = parse(rendered.text) as { parameter_defaults: Record<string, SecretValue> };
    expect(Object.keys(file)).toEqual(["parameter_defaults"]);
    expect(Object.keys(file.parameter_defaults)).toEqual([...tripleo.keys()].sort());
    expect(secretDigests(file.parameter_defaults)).toEqual(
      secretDigests(Object.fromEntries(tripleo)),
    );
  });
});

describe("kolla's passwords.yml", () => {
  it("every template key, sorted as kolla-genpwd's safe_dump writes them; null where there is no value", () => {
    const rendered = renderPasswordFile("kolla", kollaValues());
    const file = parse(rendered.text) as Record<string, SecretValue | null>;
    expect(Object.keys(file)).toEqual([...KOLLA_PASSWORD_KEYS].sort());
    expect(file.docker_registry_password).toBeNull();
    expect(rendered.missing).toEqual([]);
    expect(secretDigests(file)).toEqual(
      secretDigests({ ...Object.fromEntries(kollaValues()), docker_registry_password: null }),
    );
  });

  it("from a TripleO store: kolla keys take their TripleO counterpart's value through the name map", () => {
    const rendered = renderPasswordFile("kolla", tripleo);
    const file = parse(rendered.text) as Record<string, SecretValue | null>;
    expect(
      secretDigests([
        file.database_password,
        file.nova_api_database_password,
        file.rabbitmq_password,
      ]),
    ).toEqual(
      secretDigests([
        tripleo.get("MysqlRootPassword"),
        tripleo.get("NovaPassword"),
        tripleo.get("RpcPassword"),
      ]),
    );
    expect(Object.keys(file).filter((k) => /[A-Z]/.test(k))).toEqual([]);
    expect(rendered.missing).toContain("gnocchi_project_id");
  });

  it("--merge-into kolla's template: every comment and the key order kept, only values changed", () => {
    const merged = mergeKollaPasswords(template, "passwords.yml", kollaValues());
    const comments = (text: string) =>
      text.split("\n").filter((l) => l.trimStart().startsWith("#"));
    expect(comments(merged.text)).toEqual(comments(template));
    const file = parse(merged.text) as Record<string, SecretValue | null>;
    expect(Object.keys(file)).toEqual(Object.keys(parse(template) as object));
    expect(secretDigests(file)).toEqual(
      secretDigests({ ...(parse(template) as object), ...Object.fromEntries(kollaValues()) }),
    );
    expect(merged.written).toHaveLength(105);
    expect(merged.missing).toEqual([]);
  });

  it("an old redis_master_password is written as valkey_master_password only (kolla-mergepwd's rename)", () => {
    const values = new Map<string, SecretValue>([["redis_master_password", "old-redis-secret"]]);
    const file = parse(renderPasswordFile("kolla", values).text) as Record<string, unknown>;
    expect(file).not.toHaveProperty("redis_master_password");
    expect(secretDigests(file.valkey_master_password)).toBe(secretDigests("old-redis-secret"));
    const merged = parse(mergeKollaPasswords(template, "passwords.yml", values).text);
    expect(secretDigests(merged.valkey_master_password)).toBe(secretDigests("old-redis-secret"));
  });

  it("--merge-into a file that is not a map, or has a duplicate key: refused with file:line", () => {
    expect(() => mergeKollaPasswords("- a\n", "passwords.yml", kollaValues())).toThrow(
      /^passwords.yml:1:1: passwords.yml must be a kolla passwords.yml map$/,
    );
    expect(() => mergeKollaPasswords("a: x\nb: y\na: z\n", "passwords.yml", kollaValues())).toThrow(
      /^passwords.yml:3:1: duplicate key$/,
    );
  });
});

describe("osp-secret --diff: names only", () => {
  it("names the keys that differ, are missing or extra; data and stringData both count", () => {
    const secret = parse(renderPasswordFile("osp-secret", tripleo).text) as {
      data: Record<string, string>;
      stringData?: Record<string, string>;
    };
    expect(
      diffOspSecret(renderPasswordFile("osp-secret", tripleo).text, "osp-secret.yaml", tripleo),
    ).toEqual({
      differs: [],
      missing: [],
      extra: [],
      same: 10,
    });
    secret.data.NovaPassword = Buffer.from("changed").toString("base64");
    delete secret.data.AdminPassword;
    secret.data.WatcherPassword = Buffer.from("w").toString("base64");
    secret.stringData = { SwiftPassword: "plain and different" };
    const { stringify } = require("yaml") as typeof import("yaml");
    const diff = diffOspSecret(stringify(secret), "osp-secret.yaml", tripleo);
    expect(diff).toEqual({
      differs: ["NovaPassword", "SwiftPassword"],
      missing: ["AdminPassword"],
      extra: ["WatcherPassword"],
      same: 7,
    });
  });

  it("refuses a file that is not a Secret, or whose data is not base64, naming file:line only", () => {
    expect(() => diffOspSecret("kind: ConfigMap\ndata: {}\n", "s.yaml", tripleo)).toThrow(
      /^s.yaml:1:7: kind must be Secret$/,
    );
    const bad = "kind: Secret\ndata:\n  NovaPassword: not*base64!\n";
    expect(() => diffOspSecret(bad, "s.yaml", tripleo)).toThrow(
      /^s.yaml:3:3: data.NovaPassword is not base64$/,
    );
    try {
      diffOspSecret(bad, "s.yaml", tripleo);
    } catch (error) {
      expect(String(error)).not.toContain("not*base64");
    }
  });
});

describeWithPython(
  ["yaml"],
  "kolla-ansible reads the file strongroom writes (Debian's PyYAML)",
  () => {
    const LOAD = [
      "import json, sys, yaml",
      "print(json.dumps(yaml.safe_load(sys.stdin.read())))",
    ].join("\n");

    it("yaml.safe_load of the kolla file gives exactly the store's values (multi-line keys, quotes, $)", async () => {
      const rendered = renderPasswordFile("kolla", kollaValues());
      const { output } = await runPythonJson<Record<string, unknown>>(LOAD, [], {
        input: rendered.text,
      });
      expect(secretDigests(output)).toEqual(
        secretDigests({ ...Object.fromEntries(kollaValues()), docker_registry_password: null }),
      );
    });

    it("yaml.safe_load of the merged template gives the same map", async () => {
      const merged = mergeKollaPasswords(template, "passwords.yml", kollaValues());
      const { output } = await runPythonJson<Record<string, unknown>>(LOAD, [], {
        input: merged.text,
      });
      expect(secretDigests(output)).toEqual(secretDigests(parse(merged.text)));
    });
  },
);

/**
 * `seed --format kolla`: kolla-ansible's passwords.yml as a seed input. Detection, values kept,
 * empty keys left to kolla-genpwd's rules, and bad inputs refused with file:line, never a value.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseManifest } from "../../../src/config/manifest.js";
import {
  detectSeedFormat,
  parseSeedInput,
  planSeed,
  SeedInputError,
  type SeedOptions,
} from "../../../src/seed/inputs.js";
import { KOLLA_TEMPLATE } from "../../helpers/kolla.js";

const lines = (...l: string[]) => `${l.join("\n")}\n`;
const SSH_PAIR = ["  private_key: PRIVATE", "  public_key: ssh-rsa AAAA"];

function problemsOf(text: string, options: SeedOptions = {}): string[] {
  try {
    parseSeedInput(text, "passwords.yml", "kolla", options);
  } catch (err) {
    expect(err).toBeInstanceOf(SeedInputError);
    return (err as SeedInputError).problems.map((p) => `${p.file}:${p.line}: ${p.reason}`);
  }
  throw new Error("expected a SeedInputError");
}

describe("detection", () => {
  it("a map with kolla's marker keys and no TripleO section is kolla, whatever the file's name", () => {
    const template = readFileSync(KOLLA_TEMPLATE, "utf8");
    expect(detectSeedFormat(template, "passwords.yml")).toBe("kolla");
    expect(detectSeedFormat(template, "-")).toBe("kolla");
    expect(detectSeedFormat(lines("keystone_admin_password: x"), "p.yaml")).toBe("kolla");
    expect(detectSeedFormat(lines("parameter_defaults:", "  database_password: x"), "p.yaml")).toBe(
      "tripleo",
    );
    expect(detectSeedFormat(lines("nova_password: x"), "p.yaml")).toBe("yaml");
  });
});

describe("values", () => {
  it("keeps set values and ssh key maps, leaves empty ones to kolla's rules, docker_registry_password blank", () => {
    const input = parseSeedInput(
      lines(
        "---",
        "database_password: kept",
        "keystone_admin_password: ''",
        "nova_ssh_key:",
        ...SSH_PAIR,
        "kolla_ssh_key:",
        "  private_key:",
        "  public_key:",
        "docker_registry_password:",
        "my_site_password:",
      ),
      "passwords.yml",
    );
    expect(input.format).toBe("kolla");
    expect([...input.keys()]).toEqual(["database_password", "nova_ssh_key"]);
    expect(input.get("nova_ssh_key")).toEqual({
      private_key: "PRIVATE",
      public_key: "ssh-rsa AAAA",
    });
    expect(Object.fromEntries(input.empty)).toEqual({
      keystone_admin_password: { kind: "alphanumeric", length: 40 },
      kolla_ssh_key: { kind: "ssh-keypair", bits: 4096, comment: "" },
      // Not a template key: kolla-genpwd gives any empty key its default password.
      my_site_password: { kind: "alphanumeric", length: 40 },
    });
    expect(input.notes).toEqual(["docker_registry_password left blank, as kolla-genpwd does"]);
  });

  it("plans the empty keys as generated, the set ones as imported, beside the manifest's own", () => {
    const manifest = parseManifest(
      lines("deployment: {name: kolla}", "secrets:", "  rabbitmq_password:"),
      "m.yaml",
    );
    const input = parseSeedInput(
      lines("database_password: kept", "rabbitmq_password:", "etcd_cluster_token:"),
      "p.yml",
    );
    expect(planSeed(manifest, new Set(), input, { generate: true })).toEqual([
      { name: "rabbitmq_password", action: "generate", listed: true },
      { name: "database_password", action: "import", listed: false },
      { name: "etcd_cluster_token", action: "generate", listed: false },
    ]);
    // A kolla key the manifest lists without a generator gets kolla's rule, not TripleO's default.
    expect(manifest.secrets.get("rabbitmq_password")!.generator).toEqual({
      kind: "alphanumeric",
      length: 40,
    });
  });
});

describe("bad inputs name file:line and never a value", () => {
  it("unknown keys are refused in strict mode only", () => {
    const text = lines("database_password: s3cret-value", "my_site_password: other-value");
    expect(parseSeedInput(text, "passwords.yml", "kolla").get("my_site_password")).toBe(
      "other-value",
    );
    expect(problemsOf(text, { strict: true })).toEqual([
      "passwords.yml:2: my_site_password is not a key of kolla-ansible's passwords.yml",
    ]);
  });

  it("wrong types: numbers, lists, an ssh key that is not a {private_key, public_key} map or half set", () => {
    const problems = problemsOf(
      lines(
        "database_password: 12345",
        "keystone_admin_password: [a, b]",
        "nova_ssh_key: a-string",
        "kolla_ssh_key:",
        "  private_key: PRIVATE",
        "  public_key:",
        "neutron_ssh_key:",
        "  private_key: PRIVATE",
      ),
    );
    expect(problems).toEqual([
      "passwords.yml:1: database_password must be a string, not a number (quote it)",
      "passwords.yml:2: keystone_admin_password must be a string or a map",
      "passwords.yml:3: nova_ssh_key must be a map {private_key, public_key}",
      "passwords.yml:4: kolla_ssh_key: private_key and public_key must both be set, or both be empty",
      "passwords.yml:7: neutron_ssh_key must be a map {private_key, public_key}",
    ]);
    expect(problems.join("\n")).not.toContain("PRIVATE");
  });

  it("strict TripleO input: a name that is no TripleO password parameter (current or legacy)", () => {
    const text = lines(
      "parameter_defaults:",
      "  NovaPassword: x",
      "  AdminToken: y",
      "  NovaPasword: z",
    );
    expect(() => parseSeedInput(text, "p.yaml", "tripleo", { strict: true })).toThrow(
      /^p.yaml:4:3: NovaPasword is not a TripleO password parameter$/,
    );
    expect(parseSeedInput(text, "p.yaml", "tripleo").get("NovaPasword")).toBe("z");
  });

  it("duplicate keys", () => {
    expect(
      problemsOf(lines("database_password: one", "rabbitmq_password:", "database_password: two")),
    ).toEqual(["passwords.yml:3: duplicate key"]);
  });
});

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadManifest, parseManifest } from "../../../src/config/manifest.js";
import {
  detectSeedFormat,
  parseSeedInput,
  planSeed,
  type SeedFormat,
  SeedInputError,
} from "../../../src/seed/inputs.js";

const PASSWORDS = fileURLToPath(
  new URL("../../../examples/tripleo/overcloud-passwords.yaml", import.meta.url),
);
const MANIFEST = fileURLToPath(new URL("../../../examples/tripleo/manifest.yaml", import.meta.url));

const lines = (...l: string[]) => `${l.join("\n")}\n`;

function problemsOf(text: string, file: string, format?: SeedFormat): string[] {
  try {
    parseSeedInput(text, file, format);
  } catch (err) {
    expect(err).toBeInstanceOf(SeedInputError);
    return (err as SeedInputError).problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.reason}`);
  }
  throw new Error("expected a SeedInputError");
}

describe("the example TripleO passwords file", () => {
  const input = parseSeedInput(readFileSync(PASSWORDS, "utf8"), PASSWORDS);

  it("is read as tripleo, values untouched", () => {
    expect(input.format).toBe("tripleo");
    expect(input.get("NovaPassword")).toBe("n0va$HOST%2F@db$$x");
    expect(input.get("MysqlRootPassword")).toBe("EHJWcJdqJr");
    expect(input.get("KeystoneCredential0")).toBe("7aJN2DhPDxq13efDVhzeVhbaiHEvSQBM28k6hgKa-tw=");
    expect(input.notes).toEqual([]);
  });

  it("keeps map-valued parameters as maps", () => {
    expect(input.get("KeystoneFernetKeys")).toEqual({
      "/etc/keystone/fernet-keys/0": { content: "4yfmfhTSqo0nQF_f6fjx4XXd_r34PghowoxjvBglXcc=" },
      "/etc/keystone/fernet-keys/1": { content: "sFCPeHm3u57Ms4vjD-AlUDngP1NYnfrmbcg1IdYGh30=" },
    });
  });

  it("plans a seed against the example manifest", () => {
    const plan = planSeed(loadManifest(MANIFEST), new Set(["AdminPassword"]), input, {
      generate: true,
    });
    const by = (action: string) => plan.filter((p) => p.action === action).map((p) => p.name);
    expect(by("keep")).toEqual(["AdminPassword"]);
    expect(by("generate")).toEqual(["GlancePassword", "HeatPassword", "MigrationSshKey"]);
    expect(by("missing")).toEqual([]);
    expect(plan.find((p) => p.name === "AdminPassword")).toMatchObject({ inputIgnored: true });
    expect(plan.filter((p) => !p.listed).map((p) => p.name)).toEqual([
      "CephClientKey",
      "CephClusterFSID",
      "RabbitCookie",
    ]);
    expect(JSON.stringify(plan)).not.toContain("n0va");
  });
});

describe("TripleO legacy names and flags", () => {
  it("maps AdminToken to KeystonePassword only when that is absent", () => {
    const old = parseSeedInput(lines("parameter_defaults:", "  AdminToken: tok3n"), "p.yaml");
    expect(old.get("KeystonePassword")).toBe("tok3n");
    expect(old.has("AdminToken")).toBe(false);
    expect(old.notes).toEqual(["AdminToken imported as KeystonePassword (legacy name)"]);

    const both = parseSeedInput(
      lines("parameter_defaults:", "  AdminToken: tok3n", "  KeystonePassword: kp"),
      "p.yaml",
    );
    expect(both.get("KeystonePassword")).toBe("kp");
    expect(both.has("AdminToken")).toBe(false);
  });

  it("maps KeystoneFernetKey0/1 into KeystoneFernetKeys", () => {
    const input = parseSeedInput(
      lines("parameter_defaults:", "  KeystoneFernetKey0: k0", "  KeystoneFernetKey1: k1"),
      "p.yaml",
    );
    expect([...input.keys()]).toEqual(["KeystoneFernetKeys"]);
    expect(input.get("KeystoneFernetKeys")).toEqual({
      "/etc/keystone/fernet-keys/0": { content: "k0" },
      "/etc/keystone/fernet-keys/1": { content: "k1" },
    });
    expect(input.notes).toEqual([
      "KeystoneFernetKey0, KeystoneFernetKey1 mapped into KeystoneFernetKeys (legacy names)",
    ]);
  });

  it("records EnableMysqlAuthEd25519 as a flag, not a secret", () => {
    const input = parseSeedInput(
      lines("parameter_defaults:", "  EnableMysqlAuthEd25519: true", "  GlancePassword: x"),
      "p.yaml",
    );
    expect(input.flags).toEqual({ enableMysqlAuthEd25519: true });
    expect([...input.keys()]).toEqual(["GlancePassword"]);
    expect(
      problemsOf(lines("parameter_defaults:", "  EnableMysqlAuthEd25519: maybe"), "p.yaml"),
    ).toEqual(["p.yaml:2:3: EnableMysqlAuthEd25519 must be true or false"]);
  });

  it("applies TripleO's upgrade defaults and keeps dropped names", () => {
    const input = parseSeedInput(
      lines(
        "parameter_defaults:",
        "  RabbitPassword: rp",
        "  NovaPassword: np",
        "  CephMonKey: mon",
      ),
      "p.yaml",
    );
    expect(input.get("RpcPassword")).toBe("rp");
    expect(input.get("NotifyPassword")).toBe("rp");
    expect(input.get("PlacementPassword")).toBe("np");
    expect(input.get("CephMonKey")).toBe("mon");
    expect(input.notes.join("\n")).not.toMatch(/\brp\b|\bnp\b|\bmon\b/);
  });

  it("reads an older plan environment's passwords and skips Heat sections", () => {
    const input = parseSeedInput(
      lines("resource_registry:", "  OS::X: x.yaml", "passwords:", "  GlancePassword: gp"),
      "plan-environment.yaml",
      "tripleo",
    );
    expect(input.get("GlancePassword")).toBe("gp");
    expect(input.notes).toEqual(['ignored the "resource_registry" section (no secrets there)']);
    expect(problemsOf(lines("parameter_defaults: {}", "NovaPassword: x"), "p.yaml")).toEqual([
      'p.yaml:2:1: unexpected top-level key "NovaPassword"',
    ]);
  });
});

describe("YAML and JSON inputs", () => {
  it("reads strings and maps", () => {
    const input = parseSeedInput(
      lines("NovaPassword: 'n$%@'", "MigrationSshKey:", "  private_key: a", "  public_key: b"),
      "s.yaml",
    );
    expect(input.format).toBe("yaml");
    expect(Object.fromEntries(input)).toEqual({
      NovaPassword: "n$%@",
      MigrationSshKey: { private_key: "a", public_key: "b" },
    });
  });

  it("rejects numbers, booleans, nulls and lists with file:line", () => {
    expect(
      problemsOf(lines("A: ok", "B: 12345", "C: true", "D:", "E: [a]", "F: ''"), "s.yaml"),
    ).toEqual([
      "s.yaml:2:1: B must be a string, not a number (quote it)",
      "s.yaml:3:1: C must be a string, not a boolean (quote it)",
      "s.yaml:4:1: D has no value",
      "s.yaml:5:1: E must be a string or a map",
      "s.yaml:6:1: F has an empty value",
    ]);
  });

  it("rejects a non-map document and bad names", () => {
    expect(problemsOf("- a\n- b\n", "s.yaml")).toEqual([
      "s.yaml:1:1: the input must be a map of name: value",
    ]);
    expect(problemsOf(lines("ok: x", "bad name: y"), "s.yaml")).toEqual([
      "s.yaml:2:1: invalid secret name (a letter first, then letters, digits, _ or -)",
    ]);
  });

  it("never quotes a value in a syntax error", () => {
    const problems = problemsOf(lines("A: ok", 'B: "hunter2\\q"'), "s.yaml");
    expect(problems).toEqual(["s.yaml:2:12: invalid escape sequence in a double-quoted string"]);
    expect(problems.join()).not.toContain("hunter2");
  });

  it("reads JSON with lines in errors", () => {
    const text = lines("{", '  "NovaPassword": "n0va",', '  "Port": 3306', "}");
    expect(problemsOf(text, "s.json")).toEqual([
      "s.json:3:3: Port must be a string, not a number (quote it)",
    ]);
    const input = parseSeedInput('{"A": "x", "K": {"/etc/k/0": {"content": "c"}}}', "s.json");
    expect(input.format).toBe("json");
    expect(input.get("K")).toEqual({ "/etc/k/0": { content: "c" } });
    expect(problemsOf('{"A": "x", "A": "y"}', "s.json")).toEqual(["s.json:1:12: duplicate key"]);
  });
});

describe("INI inputs", () => {
  it("reads the [secrets] section with oslo.config's rules", () => {
    const input = parseSeedInput(
      lines(
        "# comment",
        "[secrets]",
        "NovaPassword = n0va$x",
        "; another comment",
        "RpcPassword: 'quoted'  ",
        'HorizonSecret = "a=b:c"',
        "Multi = first",
        "  second",
        "",
        "Plain=x#not-a-comment",
      ),
      "s.ini",
    );
    expect(input.format).toBe("ini");
    expect(Object.fromEntries(input)).toEqual({
      NovaPassword: "n0va$x",
      RpcPassword: "quoted",
      HorizonSecret: "a=b:c",
      Multi: "first\nsecond",
      Plain: "x#not-a-comment",
    });
  });

  it("reports problems with lines", () => {
    expect(
      problemsOf(
        lines(
          "A = before-section",
          "[secrets]",
          "B = 1",
          "no separator here",
          "B = 2",
          "C =",
          "[DEFAULT]",
          "D = x",
          "[bad",
        ),
        "s.ini",
      ),
    ).toEqual([
      "s.ini:1:1: assignment before any section: start with [secrets]",
      "s.ini:4:1: expected name = value",
      "s.ini:5:1: B is already set on line 3",
      "s.ini:6:1: C has an empty value",
      "s.ini:7:1: unknown section [DEFAULT]: secrets go under [secrets]",
      "s.ini:9:1: bad section header",
    ]);
    expect(problemsOf(lines("[secrets]", "  continued"), "s.ini")).toEqual([
      "s.ini:2:1: unexpected continuation line",
    ]);
  });

  it("reads lines and values with oslo.config's own rules (config/oslo-ini.ts)", () => {
    // Python's strip(), not JavaScript's trim(): U+0085 and U+001F are whitespace there.
    // Python's universal newlines: a lone \r ends a line.
    const input = parseSeedInput("[secrets]\rA = fake-a\u0085\rB = fake-b\u001f\r", "s.ini");
    expect(Object.fromEntries(input)).toEqual({ A: "fake-a", B: "fake-b" });
    // A lone quote character is a pair of quotes to oslo, so the value is empty.
    expect(problemsOf(lines("[secrets]", "A = fake", "B = '", 'C = "'), "s.ini")).toEqual([
      "s.ini:3:1: B has an empty value",
      "s.ini:4:1: C has an empty value",
    ]);
  });

  it("reports a malformed line once, not its continuation lines or the section it spoils", () => {
    expect(
      problemsOf(
        lines(
          "= fake-without-name",
          "  fake-continued",
          "[secrets",
          "A = fake-a",
          "[secrets]",
          "fake-without-separator",
          "\tfake-continued",
          "B = fake-b",
        ),
        "s.ini",
      ),
    ).toEqual([
      "s.ini:1:1: empty name",
      "s.ini:3:1: bad section header",
      "s.ini:6:1: expected name = value",
    ]);
  });
});

describe("env inputs", () => {
  it("reads KEY=VALUE lines", () => {
    const input = parseSeedInput(
      lines(
        "# comment",
        "export NovaPassword=n0va$x",
        "RpcPassword='single $quoted # kept'",
        'HorizonSecret="double \\"escaped\\"\\n" # trailing comment',
        "Plain = value # comment",
        "Hash=a#b",
        "PEM='-----BEGIN KEY-----",
        "abc",
        "-----END KEY-----'",
      ),
      "secrets.env",
    );
    expect(input.format).toBe("env");
    expect(Object.fromEntries(input)).toEqual({
      NovaPassword: "n0va$x",
      RpcPassword: "single $quoted # kept",
      HorizonSecret: 'double "escaped"\n',
      Plain: "value",
      Hash: "a#b",
      PEM: "-----BEGIN KEY-----\nabc\n-----END KEY-----",
    });
  });

  it("reports problems with lines", () => {
    expect(
      problemsOf(lines("A=1", "not an assignment", "A=2", "B=", 'C="x" y', "_x=1"), "s.env"),
    ).toEqual([
      "s.env:2:1: expected NAME=VALUE",
      "s.env:3:1: A is already set on line 1",
      "s.env:4:1: B has an empty value",
      "s.env:5:1: C: unexpected text after the closing quote",
      "s.env:6:1: invalid secret name (a letter first, then letters, digits, _ or -)",
    ]);
    expect(problemsOf(lines("A=ok", 'B="never closed', "C=x"), "s.env")).toEqual([
      "s.env:2:1: B: unterminated double quote",
    ]);
  });
});

describe("format detection", () => {
  it.each([
    ["x.json", "{}", "json"],
    ["x.ini", "[secrets]", "ini"],
    ["x.conf", "[secrets]", "ini"],
    ["x.env", "A=b", "env"],
    [".env", "A=b", "env"],
    ["x.yaml", "parameter_defaults: {}", "tripleo"],
    ["x.yml", "A: b", "yaml"],
    ["x.yaml", "A=b", "yaml"],
    ["-", '  {"A": "b"}', "json"],
    ["-", "# c\n[secrets]\nA = b", "ini"],
    ["-", "export A=b", "env"],
    ["-", "# c\nparameter_defaults:\n  A: b", "tripleo"],
    ["-", "A: b", "yaml"],
  ])("%s %j is %s", (file, text, format) => {
    expect(detectSeedFormat(text, file)).toBe(format);
  });
});

describe("planSeed", () => {
  const manifest = parseManifest(
    lines(
      "deployment: { name: t }",
      "secrets:",
      "  Kept: {}",
      "  Imported: {}",
      "  Generated: {}",
      "  Supplied: { generator: none }",
    ),
    "m.yaml",
  );
  const input = new Map([
    ["Imported", "i"],
    ["Kept", "k"],
    ["Extra", "e"],
  ]);

  it("keeps, imports, generates and reports the missing", () => {
    expect(planSeed(manifest, new Set(["Kept"]), input, { generate: true })).toEqual([
      { name: "Kept", action: "keep", listed: true, inputIgnored: true },
      { name: "Imported", action: "import", listed: true },
      { name: "Generated", action: "generate", listed: true },
      { name: "Supplied", action: "missing", listed: true },
      { name: "Extra", action: "import", listed: false },
    ]);
  });

  it("generates nothing with generate: false", () => {
    const plan = planSeed(manifest, new Set(), new Map(), { generate: false });
    expect(plan.map((p) => p.action)).toEqual(["missing", "missing", "missing", "missing"]);
  });
});

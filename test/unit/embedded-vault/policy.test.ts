import { describe, expect, it } from "vitest";
import { VaultError } from "../../../src/embedded-vault/errors.js";
import {
  DEFAULT_POLICY_TEXT,
  normalizePolicyName,
  parsePolicy,
} from "../../../src/embedded-vault/policy/policy.js";

function parseErrorOf(text: string): string {
  try {
    parsePolicy("p", text);
  } catch (error) {
    expect(error).toBeInstanceOf(VaultError);
    expect((error as VaultError).status).toBe(400);
    return (error as VaultError).message;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe("parsePolicy", () => {
  it("parses HCL path blocks, keeping the text", () => {
    const text = `
# comment
path "secret/data/*" {
  capabilities = ["read", "list"]
}
path "/sys/mounts" { capabilities = ["read"] }
`;
    const policy = parsePolicy("app", text);
    expect(policy).toEqual({
      name: "app",
      text,
      rules: [
        { pattern: "secret/data/*", capabilities: ["read", "list"] },
        { pattern: "sys/mounts", capabilities: ["read"] },
      ],
    });
  });

  it("parses the JSON form", () => {
    const text = JSON.stringify({
      path: {
        "secret/data/app": { capabilities: ["create", "update"] },
        "secret/metadata/*": { capabilities: ["list"] },
      },
    });
    expect(parsePolicy("app", text).rules).toEqual([
      { pattern: "secret/data/app", capabilities: ["create", "update"] },
      { pattern: "secret/metadata/*", capabilities: ["list"] },
    ]);
  });

  it("decodes base64-encoded policies and stores the decoded text", () => {
    const text = 'path "secret/*" { capabilities = ["read"] }';
    const encoded = Buffer.from(text).toString("base64");
    expect(parsePolicy("b64", encoded)).toEqual({
      name: "b64",
      text,
      rules: [{ pattern: "secret/*", capabilities: ["read"] }],
    });
    const wrapped = encoded.replace(/(.{16})/g, "$1\n");
    expect(parsePolicy("b64", wrapped).text).toBe(text);
  });

  it("reports the errors of the text itself when base64 decoding leads nowhere", () => {
    expect(parseErrorOf("abcd")).toMatch(/^failed to parse policy: /);
  });

  it("maps the legacy policy shorthand onto capabilities", () => {
    const policy = parsePolicy(
      "legacy",
      `
path "r" { policy = "read" }
path "w" { policy = "write" }
path "s" { policy = "sudo" }
path "d" { policy = "deny" }
path "both" {
  policy = "read"
  capabilities = ["update"]
}`,
    );
    expect(policy.rules.map((r) => [r.pattern, r.capabilities])).toEqual([
      ["r", ["read", "list"]],
      ["w", ["create", "read", "update", "delete", "list"]],
      ["s", ["create", "read", "update", "delete", "list", "sudo"]],
      ["d", ["deny"]],
      ["both", ["read", "update", "list"]],
    ]);
  });

  it("reduces a rule containing deny to deny alone and deduplicates", () => {
    const policy = parsePolicy(
      "p",
      `path "a" { capabilities = ["read", "deny", "sudo"] }
path "b" { capabilities = ["read", "read", "patch"] }`,
    );
    expect(policy.rules.map((r) => r.capabilities)).toEqual([["deny"], ["read", "patch"]]);
  });

  it("keeps duplicate path blocks as separate rules (the ACL merges them)", () => {
    const policy = parsePolicy(
      "p",
      `path "a" { capabilities = ["read"] }
path "a" { capabilities = ["list"] }`,
    );
    expect(policy.rules).toHaveLength(2);
  });

  it("accepts an empty list of capabilities", () => {
    expect(parsePolicy("p", `path "a" { capabilities = [] }`).rules).toEqual([
      { pattern: "a", capabilities: [] },
    ]);
  });

  it("parses parameter constraints and wrapping TTLs", () => {
    const policy = parsePolicy(
      "p",
      `path "secret/data/app" {
  capabilities = ["create", "update"]
  allowed_parameters = {
    "Data" = []
    "options" = ["a", "b*"]
  }
  denied_parameters = { "forbidden" = [] }
  required_parameters = ["data"]
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = 3600
  comment = "ignored"
}`,
    );
    expect(policy.rules[0]).toEqual({
      pattern: "secret/data/app",
      capabilities: ["create", "update"],
      allowedParameters: { data: [], options: ["a", "b*"] },
      deniedParameters: { forbidden: [] },
      requiredParameters: ["data"],
      minWrappingTtl: 60,
      maxWrappingTtl: 3600,
    });
  });

  it("accepts a name key and an empty policy", () => {
    expect(parsePolicy("p", `name = "x"`).rules).toEqual([]);
    expect(parsePolicy("p", "").rules).toEqual([]);
  });

  it.each([
    [
      'path "a" { capabilities = ["bogus"] }',
      'failed to parse policy: path "a": invalid capability "bogus"',
    ],
    ['path "a" { capabilities = ["READ"] }', 'invalid capability "READ"'],
    ['path "a" { capabilities = "read" }', 'path "a": capabilities must be a list of strings'],
    ['path "a*b" { capabilities = ["read"] }', "'*' is only allowed at the end"],
    ['path "*/x" { capabilities = ["read"] }', "'*' is only allowed at the end"],
    ['path "a/+*" { capabilities = ["read"] }', "'+*' is forbidden"],
    ['path "a" {}', 'path "a": missing capabilities'],
    ['path "a" { policy = "admin" }', 'path "a": invalid policy "admin"'],
    [
      'path "a" { capabilities = ["read"]\n capabilites = ["list"] }',
      'path "a": invalid key "capabilites"',
    ],
    ['paths "a" { capabilities = ["read"] }', 'failed to parse policy: invalid key "paths"'],
    ['path = "a"', '"path" must be a block'],
    ['path "a" { capabilities = ["read"', "failed to parse policy: At 1:34: error parsing list"],
    ["this is not hcl", "failed to parse policy: At 1:"],
    [
      'path "a" { capabilities = ["read"]\n min_wrapping_ttl = "soon" }',
      "error parsing min_wrapping_ttl",
    ],
    [
      'path "a" { capabilities = ["read"]\n min_wrapping_ttl = "1h"\n max_wrapping_ttl = "1m" }',
      "max_wrapping_ttl cannot be less than min_wrapping_ttl",
    ],
    [
      'path "a" { capabilities = ["read"]\n allowed_parameters = { "x" = "y" } }',
      '"x" must be a list',
    ],
    [
      'path "a" { capabilities = ["read"]\n required_parameters = "x" }',
      "required_parameters must be a list",
    ],
  ])("rejects %j", (text, message) => {
    expect(parseErrorOf(text)).toContain(message);
  });

  it("validates the name", () => {
    expect(parsePolicy("  MyPolicy ", "").name).toBe("mypolicy");
    expect(() => parsePolicy("  ", "")).toThrow("policy name missing");
    expect(() => parsePolicy("a/../b", "")).toThrow('invalid policy name "a/../b"');
    expect(() => parsePolicy("a\0b", "")).toThrow("invalid policy name");
    expect(parsePolicy("team/app", "").name).toBe("team/app");
  });
});

describe("DEFAULT_POLICY_TEXT", () => {
  it("parses and grants Vault's default self-service paths", () => {
    const patterns = parsePolicy("default", DEFAULT_POLICY_TEXT).rules.map((r) => r.pattern);
    expect(patterns).toEqual(
      expect.arrayContaining([
        "auth/token/lookup-self",
        "auth/token/renew-self",
        "auth/token/revoke-self",
        "sys/capabilities-self",
        "sys/internal/ui/resultant-acl",
        "sys/leases/renew",
        "sys/leases/lookup",
        "cubbyhole/*",
        "sys/wrapping/wrap",
        "sys/wrapping/lookup",
        "sys/wrapping/unwrap",
        "sys/tools/hash",
        "sys/tools/hash/*",
      ]),
    );
  });
});

describe("normalizePolicyName", () => {
  it("trims and lower-cases", () => {
    expect(normalizePolicyName("  Admin-Policy\n")).toBe("admin-policy");
  });
});

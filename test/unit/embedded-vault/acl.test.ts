import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Acl } from "../../../src/embedded-vault/policy/acl.js";
import {
  type Capability,
  DEFAULT_POLICY_TEXT,
  type Policy,
  parsePolicy,
} from "../../../src/embedded-vault/policy/policy.js";
import type { Operation } from "../../../src/embedded-vault/types.js";

const acl = (...texts: string[]) => new Acl(texts.map((text, i) => parsePolicy(`p${i}`, text)));
const rule = (pattern: string, ...capabilities: Capability[]) =>
  `path "${pattern}" { capabilities = ${JSON.stringify(capabilities)} }\n`;

describe("Acl matching", () => {
  it("denies everything without policies", () => {
    const empty = new Acl([]);
    expect(empty.allows("secret/data/a", "read")).toBe(false);
    expect(empty.capabilities("secret/data/a")).toEqual(["deny"]);
  });

  it("matches exact paths only exactly", () => {
    const a = acl(rule("secret/foo", "read"));
    expect(a.allows("secret/foo", "read")).toBe(true);
    expect(a.allows("/secret/foo", "read")).toBe(true);
    expect(a.allows("secret/food", "read")).toBe(false);
    expect(a.allows("secret/foo/bar", "read")).toBe(false);
    expect(a.allows("secret/fo", "read")).toBe(false);
  });

  it("treats a trailing * as a prefix glob", () => {
    const a = acl(rule("secret/foo*", "read"));
    for (const path of ["secret/foo", "secret/food", "secret/foo/bar"]) {
      expect(a.allows(path, "read")).toBe(true);
    }
    expect(a.allows("secret/fo", "read")).toBe(false);
    expect(acl(rule("*", "read")).allows("anything/at/all", "read")).toBe(true);
  });

  it("treats + as exactly one path segment", () => {
    const a = acl(rule("secret/+/teamb", "read"), rule("secret/+/+/teamb", "update"));
    expect(a.allows("secret/foo/teamb", "read")).toBe(true);
    expect(a.allows("secret/bar/teamb", "read")).toBe(true);
    expect(a.allows("secret/foo/bar/teamb", "read")).toBe(false);
    expect(a.allows("secret/foo/bar/teamb", "update")).toBe(true);
    expect(a.allows("secret/teamb", "read")).toBe(false);
    expect(a.allows("secret/foo/teamb/x", "read")).toBe(false);

    const leading = acl(rule("+/data/app", "read"));
    expect(leading.allows("kv/data/app", "read")).toBe(true);
    expect(leading.allows("kv/data/app2", "read")).toBe(false);
  });

  it("combines + with a trailing *", () => {
    const a = acl(rule("secret/+/ab*", "read"), rule("kv/+/*", "list"));
    expect(a.allows("secret/x/ab", "read")).toBe(true);
    expect(a.allows("secret/x/abc", "read")).toBe(true);
    expect(a.allows("secret/x/ab/c/d", "read")).toBe(true);
    expect(a.allows("secret/x/a", "read")).toBe(false);
    expect(a.allows("secret/ab", "read")).toBe(false);
    expect(a.allows("kv/team/", "list")).toBe(true);
    expect(a.allows("kv/team/deep/", "list")).toBe(true);
  });

  it("treats + inside a segment literally", () => {
    const a = acl(rule("secret/a+b", "read"));
    expect(a.allows("secret/a+b", "read")).toBe(true);
    expect(a.allows("secret/axb", "read")).toBe(false);
  });

  it("maps every operation onto its capability", () => {
    const ops: Operation[] = ["read", "create", "update", "patch", "delete", "list"];
    for (const op of ops) {
      const a = acl(rule("p/*", op));
      for (const other of ops) expect(a.allows("p/x/", other)).toBe(other === op);
    }
  });
});

describe("Acl priority (Vault's 'Priority matching')", () => {
  const winner = (patterns: string[], path: string): string | undefined => {
    // Give every pattern a distinct capability set so the winner is identifiable.
    const caps: Capability[] = ["read", "update", "delete", "patch", "create"];
    const a = acl(patterns.map((p, i) => rule(p, caps[i] as Capability)).join(""));
    const granted = a.capabilities(path);
    const index = caps.findIndex((c) => granted.includes(c));
    return index === -1 ? undefined : patterns[index];
  };

  it("prefers an exact path over any glob", () => {
    const a = acl(rule("secret/*", "create", "read"), rule("secret/super-secret", "deny"));
    expect(a.allows("secret/anything", "read")).toBe(true);
    expect(a.allows("secret/super-secret", "read")).toBe(false);
    expect(a.capabilities("secret/super-secret")).toEqual(["deny"]);
  });

  it("1) the later first wildcard wins", () => {
    expect(winner(["foo/+", "foo/a*"], "foo/ab")).toBe("foo/a*");
    expect(winner(["foo/+/bar/baz", "foo/bar/+/baz"], "foo/bar/bar/baz")).toBe("foo/bar/+/baz");
    expect(winner(["secret/*", "secret/data/*"], "secret/data/x")).toBe("secret/data/*");
  });

  it("2) without a trailing * wins", () => {
    expect(winner(["foo/+/ba*", "foo/+/bar"], "foo/x/bar")).toBe("foo/+/bar");
    expect(winner(["foo/*", "foo/+"], "foo/x")).toBe("foo/+");
  });

  it("3) fewer + segments wins", () => {
    expect(winner(["foo/+/+/baz", "foo/+/bar/baz"], "foo/a/bar/baz")).toBe("foo/+/bar/baz");
    // Vault's own example: "secret/*" beats "secret/+/*".
    expect(winner(["secret/+/*", "secret/*"], "secret/a/b")).toBe("secret/*");
  });

  it("4) the longer pattern wins", () => {
    expect(winner(["foo/+/bar/b*", "foo/+/bar/ba*"], "foo/x/bar/baz")).toBe("foo/+/bar/ba*");
  });

  it("5) the lexicographically larger pattern wins", () => {
    expect(winner(["x/+/+/z", "x/+/y/+"], "x/a/y/z")).toBe("x/+/y/+");
    expect(winner(["x/+/y/+", "x/+/+/z"], "x/a/y/z")).toBe("x/+/y/+");
  });

  it("lets the single winner decide, even when a less specific rule grants more", () => {
    const a = acl(rule("secret/*", "read", "list", "update"), rule("secret/data/+", "read"));
    expect(a.allows("secret/data/x", "update")).toBe(false);
    expect(a.allows("secret/other/x", "update")).toBe(true);
  });
});

describe("Acl deny, sudo and merging", () => {
  it("deny overrides everything including sudo", () => {
    const a = acl(rule("sys/audit/*", "deny"), rule("sys/audit/*", "sudo", "update", "read"));
    expect(a.allows("sys/audit/file", "update", true)).toBe(false);
    expect(a.allows("sys/audit/file", "read")).toBe(false);
    expect(a.capabilities("sys/audit/file")).toEqual(["deny"]);
  });

  it("requires sudo when asked", () => {
    const a = acl(rule("sys/seal", "update"), rule("sys/audit/*", "update", "sudo"));
    expect(a.allows("sys/seal", "update")).toBe(true);
    expect(a.allows("sys/seal", "update", true)).toBe(false);
    expect(a.allows("sys/audit/file", "update", true)).toBe(true);
    expect(a.capabilities("sys/audit/file")).toEqual(["sudo", "update"].sort());
  });

  it("unions identical patterns across policies", () => {
    const a = acl(rule("secret/data/*", "read"), rule("secret/data/*", "create", "update"));
    expect(a.capabilities("secret/data/app")).toEqual(["create", "read", "update"]);
  });

  it("unions identical patterns within one policy", () => {
    const a = acl(rule("a", "read") + rule("a", "list"));
    expect(a.capabilities("a")).toEqual(["list", "read"]);
  });

  it("does not merge different patterns", () => {
    const a = acl(rule("secret/*", "read"), rule("secret/+", "update"));
    expect(a.capabilities("secret/x")).toEqual(["update"]);
    expect(a.capabilities("secret/x/y")).toEqual(["read"]);
  });

  it("reports ['deny'] for a rule with no capabilities", () => {
    const a = acl(rule("secret/*", "read"), rule("secret/locked", ...([] as Capability[])));
    expect(a.capabilities("secret/locked")).toEqual(["deny"]);
    expect(a.allows("secret/locked", "read")).toBe(false);
  });

  it("reports capabilities sorted by name", () => {
    const a = acl(rule("x", "update", "read", "list", "delete", "create", "patch", "sudo"));
    expect(a.capabilities("x")).toEqual([
      "create",
      "delete",
      "list",
      "patch",
      "read",
      "sudo",
      "update",
    ]);
  });
});

describe("Acl LIST on folder paths", () => {
  it("a glob covers the folder and its sub-folders", () => {
    const a = acl(rule("secret/metadata/*", "list"));
    expect(a.allows("secret/metadata/", "list")).toBe(true);
    expect(a.allows("secret/metadata/foo/", "list")).toBe(true);
    expect(a.allows("secret/metadata/foo", "list")).toBe(true);
    expect(a.allows("secret/", "list")).toBe(false);
  });

  it("an exact rule with the trailing slash covers the folder", () => {
    const a = acl(rule("secret/metadata/", "list"));
    expect(a.allows("secret/metadata/", "list")).toBe(true);
    expect(a.allows("secret/metadata", "list")).toBe(true);
    expect(a.allows("secret/metadata/foo/", "list")).toBe(false);
  });

  it("an exact rule without the slash covers the folder too (Vault's fallback)", () => {
    const a = acl(rule("secret/metadata", "list"));
    expect(a.allows("secret/metadata/", "list")).toBe(true);
    expect(a.capabilities("secret/metadata/")).toEqual(["list"]);
    expect(a.allows("secret/metadata/", "read")).toBe(false);
  });

  it("a + rule covers a folder one segment deep", () => {
    expect(acl(rule("secret/metadata/+", "list")).allows("secret/metadata/app/", "list")).toBe(
      true,
    );
  });

  it("checks the path without its slash first, as Vault does", () => {
    const a = acl(rule("secret/*", "deny"), rule("secret/metadata/*", "list"));
    // "secret/metadata" (slash trimmed) already matches "secret/*".
    expect(a.allows("secret/metadata/", "list")).toBe(false);
    expect(a.allows("secret/metadata/app/", "list")).toBe(true);
  });
});

describe("Acl parameter constraints", () => {
  const constrained = acl(`path "secret/data/app" {
  capabilities = ["create", "update", "read"]
  allowed_parameters = {
    "data" = []
    "options" = ["cas*", "*-safe", "*mid*"]
  }
  denied_parameters = { "forbidden" = [] }
}
path "kv/req" {
  capabilities = ["update"]
  required_parameters = ["Token"]
}
path "kv/anything" {
  capabilities = ["update"]
  allowed_parameters = { "*" = [] }
  denied_parameters = { "secret" = ["x", "y"] }
}
path "kv/none" {
  capabilities = ["update"]
  denied_parameters = { "*" = [] }
}`);

  it("allows listed parameters with matching values", () => {
    expect(constrained.allows("secret/data/app", "update", false, { data: { a: 1 } })).toBe(true);
    expect(
      constrained.allows("secret/data/app", "update", false, { options: "cas-required" }),
    ).toBe(true);
    expect(constrained.allows("secret/data/app", "update", false, { options: "very-safe" })).toBe(
      true,
    );
    expect(constrained.allows("secret/data/app", "update", false, { options: "a-mid-b" })).toBe(
      true,
    );
    expect(
      constrained.allows("secret/data/app", "update", false, { options: ["cas", "x-safe"] }),
    ).toBe(true);
    expect(constrained.allows("secret/data/app", "update", false, { options: "cas1, cas2" })).toBe(
      true,
    );
    expect(constrained.allows("secret/data/app", "update", false, { OPTIONS: "cas" })).toBe(true);
  });

  it("rejects unlisted parameters, values and denied parameters", () => {
    expect(constrained.allows("secret/data/app", "update", false, { other: 1 })).toBe(false);
    expect(constrained.allows("secret/data/app", "update", false, { options: "nope" })).toBe(false);
    expect(
      constrained.allows("secret/data/app", "update", false, { options: ["cas", "nope"] }),
    ).toBe(false);
    expect(constrained.allows("secret/data/app", "update", false, { forbidden: 1 })).toBe(false);
  });

  it("allows requests without data and skips checks for list and delete", () => {
    expect(constrained.allows("secret/data/app", "update")).toBe(true);
    expect(constrained.allows("secret/data/app", "read", false, {})).toBe(true);
  });

  it("enforces required parameters (missing data counts as none)", () => {
    expect(constrained.allows("kv/req", "update")).toBe(false);
    expect(constrained.allows("kv/req", "update", false, { token: "t" })).toBe(true);
  });

  it("handles * in allowed and denied parameters", () => {
    expect(constrained.allows("kv/anything", "update", false, { whatever: 1 })).toBe(true);
    expect(constrained.allows("kv/anything", "update", false, { secret: "z" })).toBe(true);
    expect(constrained.allows("kv/anything", "update", false, { secret: "x" })).toBe(false);
    expect(constrained.allows("kv/anything", "update", false, { secret: ["z", "y"] })).toBe(false);
    expect(constrained.allows("kv/none", "update", false, { any: 1 })).toBe(false);
    expect(constrained.allows("kv/none", "update")).toBe(true);
  });

  it("merges allowed parameters of identical patterns", () => {
    const a = acl(
      `path "x" {
  capabilities = ["update"]
  allowed_parameters = { "a" = ["1"] }
}`,
      `path "x" {
  capabilities = ["update"]
  allowed_parameters = { "a" = ["2"], "b" = [] }
}`,
    );
    expect(a.allows("x", "update", false, { a: "1" })).toBe(true);
    expect(a.allows("x", "update", false, { a: "2", b: "anything" })).toBe(true);
    expect(a.allows("x", "update", false, { a: "3" })).toBe(false);
  });

  it("denies rules with wrapping TTLs, since requests here are never wrapped", () => {
    const a = acl(`path "x" {
  capabilities = ["read"]
  max_wrapping_ttl = "1h"
}`);
    expect(a.allows("x", "read")).toBe(false);
    expect(a.capabilities("x")).toEqual(["read"]);
  });
});

describe("Acl with the default policy", () => {
  const a = new Acl([parsePolicy("default", DEFAULT_POLICY_TEXT)]);

  it("grants token self-service and the cubbyhole, nothing else", () => {
    expect(a.allows("auth/token/lookup-self", "read")).toBe(true);
    expect(a.allows("auth/token/renew-self", "update")).toBe(true);
    expect(a.allows("auth/token/revoke-self", "update")).toBe(true);
    expect(a.allows("sys/capabilities-self", "update")).toBe(true);
    expect(a.allows("sys/internal/ui/resultant-acl", "read")).toBe(true);
    expect(a.allows("cubbyhole/mine", "create")).toBe(true);
    expect(a.allows("cubbyhole/", "list")).toBe(true);
    expect(a.allows("sys/tools/hash/sha2-256", "update")).toBe(true);
    expect(a.allows("secret/data/x", "read")).toBe(false);
    expect(a.allows("auth/token/create", "update")).toBe(false);
    expect(a.allows("sys/seal", "update", true)).toBe(false);
  });
});

// ---- properties ----

const segment = fc.constantFrom("a", "b", "ab", "abc", "");
// Paths as the router hands them over: no leading slash (the ACL strips those anyway).
const pathArb = fc
  .tuple(fc.constantFrom("a", "b", "ab"), fc.array(segment, { maxLength: 4 }))
  .map(([first, rest]) => [first, ...rest].join("/"));
const patternArb = fc
  .record({
    parts: fc.array(fc.constantFrom("a", "b", "ab", "+"), { minLength: 1, maxLength: 4 }),
    trailingSlash: fc.boolean(),
    glob: fc.boolean(),
  })
  .map(({ parts, trailingSlash, glob }) => {
    const stem = parts.join("/") + (trailingSlash ? "/" : "");
    return glob && !stem.endsWith("+") ? `${stem}*` : stem;
  });

/** Independent model of a pattern: "+" is one segment, a trailing "*" is anything. */
function patternRegExp(pattern: string): RegExp {
  const glob = pattern.endsWith("*");
  const stem = glob ? pattern.slice(0, -1) : pattern;
  const body = stem
    .split("/")
    .map((s) => (s === "+" ? "[^/]*" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${body}${glob ? ".*" : ""}$`);
}

/** Built directly rather than parsed: the HCL parser costs milliseconds per policy. */
const policyOf = (name: string, rules: Array<[string, Capability[]]>): Policy => ({
  name,
  text: "",
  rules: rules.map(([pattern, capabilities]) => ({
    pattern,
    capabilities: capabilities.includes("deny") ? ["deny"] : capabilities,
  })),
});

const grantCaps = fc.subarray<Capability>(
  ["create", "read", "update", "patch", "delete", "list", "sudo"],
  {
    minLength: 1,
  },
);

describe("Acl properties", () => {
  it("a policy granting pattern P allows exactly the paths P matches", () => {
    fc.assert(
      fc.property(patternArb, pathArb, (pattern, path) => {
        const a = new Acl([policyOf("p", [[pattern, ["read"]]])]);
        expect(a.allows(path, "read")).toBe(patternRegExp(pattern).test(path));
      }),
      { numRuns: 3000 },
    );
  });

  it("a LIST grant on P covers folder F/ exactly when P matches F or F/", () => {
    fc.assert(
      fc.property(patternArb, pathArb, (pattern, folder) => {
        const a = new Acl([policyOf("p", [[pattern, ["list"]]])]);
        const base = folder.replace(/\/+$/, "");
        const expected = [base, `${base}/`].some((p) => patternRegExp(pattern).test(p));
        expect(a.allows(`${base}/`, "list")).toBe(expected);
        expect(a.allows(base, "list")).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it("parsing keeps generated patterns and capabilities intact", () => {
    fc.assert(
      fc.property(patternArb, grantCaps, (pattern, caps) => {
        expect(parsePolicy("p", rule(pattern, ...caps)).rules).toEqual([
          { pattern, capabilities: caps },
        ]);
      }),
      { numRuns: 50 },
    );
  });

  it("deny in any policy for an identical pattern always wins", () => {
    fc.assert(
      fc.property(
        patternArb,
        fc.array(grantCaps, { minLength: 0, maxLength: 3 }),
        fc.nat(),
        pathArb,
        (pattern, grants, denyAt, path) => {
          const policies = grants.map((caps, i) => policyOf(`g${i}`, [[pattern, caps]]));
          policies.splice(
            denyAt % (policies.length + 1),
            0,
            policyOf("deny", [[pattern, ["deny"]]]),
          );
          const a = new Acl(policies);
          for (const op of ["read", "create", "update", "patch", "delete", "list"] as const) {
            expect(a.allows(path, op)).toBe(false);
          }
          if (patternRegExp(pattern).test(path)) expect(a.capabilities(path)).toEqual(["deny"]);
        },
      ),
    );
  });

  it("identical patterns without deny grant the union of their capabilities", () => {
    fc.assert(
      fc.property(
        patternArb,
        fc.array(grantCaps, { minLength: 1, maxLength: 4 }),
        pathArb,
        (pattern, grants, path) => {
          fc.pre(patternRegExp(pattern).test(path));
          const a = new Acl(grants.map((caps, i) => policyOf(`g${i}`, [[pattern, caps]])));
          expect(a.capabilities(path)).toEqual([...new Set(grants.flat())].sort());
        },
      ),
    );
  });

  it("an exact rule decides its path whatever wildcard rules exist", () => {
    fc.assert(
      fc.property(
        pathArb,
        fc.array(fc.tuple(patternArb, grantCaps)),
        grantCaps,
        (path, others, exactCaps) => {
          const a = new Acl([policyOf("others", others), policyOf("exact", [[path, exactCaps]])]);
          fc.pre(!others.some(([pattern]) => pattern === path));
          expect(a.capabilities(path)).toEqual([...new Set(exactCaps)].sort());
        },
      ),
    );
  });

  it("does not depend on the order of policies", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(patternArb, grantCaps), { maxLength: 6 }),
        pathArb,
        (rules, path) => {
          const forward = new Acl(rules.map((r, i) => policyOf(`p${i}`, [r])));
          const backward = new Acl(rules.map((r, i) => policyOf(`p${i}`, [r])).reverse());
          expect(forward.capabilities(path)).toEqual(backward.capabilities(path));
          expect(forward.allows(path, "list")).toBe(backward.allows(path, "list"));
        },
      ),
    );
  });
});

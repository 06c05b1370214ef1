/**
 * src/config/oslo-types.ts against Debian's real oslo.config 9.0.0 (netaddr, rfc3986): the
 * same strings, hand-picked and generated, must be accepted or rejected alike and parse to
 * the same values.
 */
import fc from "fast-check";
import { expect, it } from "vitest";
import type { OptionType } from "../../src/config/manifest.js";
import { parseOsloType } from "../../src/config/oslo-types.js";
import { describeWithPython, runPython } from "../helpers/python.js";

type Case = [Exclude<OptionType, "multi_string">, string];
type Outcome = { ok: false } | { ok: true; value: unknown };

const chars = (alphabet: string, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...alphabet), maxLength });

const GENERATORS: Record<Case[0], fc.Arbitrary<string>> = {
  string: fc.string(),
  integer: fc.oneof(
    chars("0123456789+-_ \t١x.", 8),
    fc.integer().map(String),
    fc.bigInt().map(String),
  ),
  float: fc.oneof(chars("0123456789+-_. eEinfa", 10), fc.double().map(String)),
  port: fc.oneof(chars("0123456789- ", 7), fc.integer({ min: -10, max: 70000 }).map(String)),
  boolean: fc.oneof(
    fc.constantFrom("true", "TRUE", "On", "nO", "yes ", "2", "off", "1", "0", ""),
    chars("onfyes", 4),
  ),
  list: chars("ab, \t,", 12),
  dict: chars("ab:, \t", 12),
  ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), chars("0123456789abcdef:.%", 16)),
  hostname: fc.oneof(fc.domain(), chars("aZ0-._\nſK", 12), fc.constant(`${"a.".repeat(126)}ab`)),
  host_address: fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6(), chars("a0-._:", 10)),
  uri: fc.oneof(
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    chars(":/[]@%?#a1.-+\\v", 14).map((s) => `http://${s}`),
    chars(":/[]@%?#a1.", 12),
  ),
};

const PICKED: Case[] = [
  ["integer", " 42 "],
  ["integer", "1_000"],
  ["integer", "١٢"],
  ["integer", "0x10"],
  ["integer", ""],
  ["integer", "9007199254740993"],
  ["float", "1_0.5"],
  ["float", "-Infinity"],
  ["float", "nan"],
  ["float", " ١.٥ "],
  ["float", "1.e5"],
  ["port", "65536"],
  ["boolean", "Yes"],
  ["list", "a, b ,c,"],
  ["list", 'a,"b,c"'],
  ["dict", "k2 : v:2"],
  ["dict", "a,b:1"],
  ["dict", "a:1,a:2"],
  ["ip", "1.2.3"],
  ["ip", "01.2.3.4"],
  ["ip", "fe80::1%eth0"],
  ["ip", "::ffff:1.2.3.4"],
  ["hostname", "ſtrongroom"],
  ["hostname", "host\n"],
  ["hostname", "a.b.1"],
  ["hostname", "example.com."],
  ["host_address", "bad_host"],
  ["uri", "http://:80"],
  ["uri", "http://host\n"],
  ["uri", "http://h/a b"],
  ["uri", "http://h/[x]"],
  ["uri", "http://h\\path"],
  ["uri", "http://[fe80::1%25eth0]/"],
  ["uri", "http://[fe80::1%eth0]/"],
  ["uri", "http://[v1.x]/"],
  ["uri", "http://1.2.3.999/"],
  ["uri", "http://u:p@h:99999/"],
];

function ours(type: Case[0], raw: string): Outcome {
  try {
    const value = parseOsloType(type, raw);
    return {
      ok: true,
      value: typeof value === "number" && !Number.isInteger(value) ? { float: value } : value,
    };
  } catch {
    return { ok: false };
  }
}

/** Python floats come back as repr() strings; integral floats are compared as floats too. */
function theirs(outcome: Outcome, type: Case[0]): Outcome {
  if (!outcome.ok) return outcome;
  const { value } = outcome;
  if (typeof value === "object" && value !== null && "float" in value) {
    const repr = (value as { float: string }).float;
    const n =
      repr === "inf" ? Infinity : repr === "-inf" ? -Infinity : repr === "nan" ? NaN : Number(repr);
    return { ok: true, value: Number.isInteger(n) && type === "float" ? n : { float: n } };
  }
  return outcome;
}

describeWithPython(
  ["oslo_config.types"],
  "oslo.config types: strongroom agrees with the real library",
  () => {
    it("on hand-picked and generated strings", async () => {
      const cases: Case[] = [...PICKED];
      for (const [type, arbitrary] of Object.entries(GENERATORS) as [
        Case[0],
        fc.Arbitrary<string>,
      ][]) {
        for (const raw of fc.sample(arbitrary, 300)) cases.push([type, raw]);
      }
      const result = await runPython("test/compat/oslo_types.py", [], {
        input: JSON.stringify(cases),
      });
      expect(result.code, result.stderr).toBe(0);
      const outcomes = JSON.parse(result.stdout) as Outcome[];
      const disagreements = cases
        .map(([type, raw], i) => ({
          type,
          raw,
          python: theirs(outcomes[i]!, type),
          strongroom: ours(type, raw),
        }))
        .filter((c) => JSON.stringify(c.python) !== JSON.stringify(c.strongroom));
      expect(disagreements).toEqual([]);
    });
  },
);

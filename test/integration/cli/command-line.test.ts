/**
 * Every command's command line, without a broker: `--help` documents each option, argument and
 * an example (checked against the commands as program.ts composes them), and a usage error
 * (unknown option, missing argument, bad combination) exits 2 with one STRONGROOM_ERR_USAGE line
 * on stderr, as JSON with --json, and changes nothing. Runs `node bin/strongroom.js` (the build).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, it } from "vitest";
import { runCli } from "../../helpers/strongroom-up.js";
import {
  argumentsOf,
  COMMANDS,
  type CommandName,
  flat,
  hasJsonOption,
  usageFailure,
  visibleOptions,
} from "./cli-assertions.js";

const root = mkdtempSync(join(tmpdir(), "strongroom-cli-line-"));
/** The state dir every command is pointed at: a usage error must not create it. */
const untouched = join(root, "never-created");
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** What the commands with required options need for commander to get to the unknown option. */
const REQUIRED: Partial<Record<CommandName, string[]>> = {
  "service-kit": ["nova", "--out", join(untouched, "kit")],
  export: ["--recipient", "site.pub", "--out", join(untouched, "overcloud.bundle")],
  import: ["overcloud.bundle", "--key", "site.key", "--trust", "broker.pub"],
  bootstrap: [
    "--manifest",
    "m.yaml",
    "--vault-addr",
    "https://vault:8200",
    "--out",
    join(untouched, "out"),
  ],
  serve: [
    ...["--manifest", "m.yaml", "--vault-addr", "https://vault:8200", "--tls-cert", "s.pem"],
    ...["--tls-key", "s.key", "--client-ca", "ca.pem", "--operator-token-file", "operator-token"],
  ],
  passwords: ["--format", "kolla"],
};

/**
 * An unknown option: one of the command's own, misspelt, so that commander suggests the right one
 * (on a line of its own, were it not joined to the error's).
 */
function misspeltOption(name: CommandName): { why: string; args: string[]; suggests: string } {
  const { long } = visibleOptions(name).find((option) => !option.mandatory)!;
  return {
    why: `an unknown option (${long} misspelt)`,
    args: [...(REQUIRED[name] ?? []), long.slice(0, -1)],
    suggests: long,
  };
}

/** Per command, besides the misspelt option: a missing argument or option (an extra one for `rotations` and `status`), found by commander or by the command. */
const WRONG_ARGUMENTS: Record<CommandName, { why: string; args: string[] }> = {
  up: { why: "no --manifest, and no state dir that records one", args: [] },
  seed: { why: "no input file", args: [] },
  get: { why: "a missing OPTION argument", args: ["nova", "DEFAULT"] },
  render: { why: "no service", args: [] },
  "service-kit": { why: "no --out", args: ["nova"] },
  kits: { why: "revoke with neither --all, --serial nor --accessor", args: ["revoke", "nova"] },
  files: { why: "neither --out nor --kit", args: ["keystone"] },
  secrets: { why: "show without the secret's name", args: ["show"] },
  rotate: { why: "neither a secret nor --resume", args: [] },
  rotations: { why: "two ids", args: ["first-id", "second-id"] },
  status: { why: "an argument it does not take", args: ["overcloud"] },
  audit: { why: "no action (verify or tail)", args: [] },
  keygen: { why: "neither --out nor --fingerprint", args: [] },
  export: { why: "no --recipient", args: ["--out", join(untouched, "overcloud.bundle")] },
  import: { why: "no bundle file", args: ["--key", "site.key", "--trust", "broker.pub"] },
  passwords: {
    why: "no --out (the values never go to a terminal unasked)",
    args: ["--format", "kolla"],
  },
  "vault-server": { why: "none of --dev, --storage and --config", args: [] },
  bootstrap: { why: "no --manifest, --vault-addr nor --out", args: [] },
  serve: { why: "no --manifest, --vault-addr, TLS files nor operator token", args: [] },
};

/** The lines of the Examples section that run `strongroom <name>`, comments cut. */
function examplesIn(help: string, name: string): string[] {
  const section = /^Examples?:$/m.exec(help);
  if (!section) return [];
  return help
    .slice(section.index)
    .split("\n")
    .slice(1)
    .map((line) => line.replace(/\s#.*$/, ""))
    .filter((line) => new RegExp(`(^|\\s)strongroom ${name}(\\s|$)`).test(line));
}

describe("--help", () => {
  it.concurrent.for(COMMANDS)(
    "%s --help exits 0 and documents every option, every argument and an example",
    async (name, { expect }) => {
      const result = await runCli(untouched, [name, "--help"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe("");
      const help = result.stdout;
      expect(help).toMatch(new RegExp(`^Usage: strongroom ${name} `, "m"));
      const text = flat(help);
      expect(text).toContain("-h, --help display help for command");
      for (const option of visibleOptions(name)) {
        expect(option.description.length, `${option.flags} has a description`).toBeGreaterThan(5);
        expect(text, option.flags).toContain(`${option.flags} ${flat(option.description)}`);
      }
      for (const argument of argumentsOf(name)) {
        expect(argument.description.length, `${argument.name} has a description`).toBeGreaterThan(
          5,
        );
        expect(text, argument.name).toContain(`${argument.name} ${flat(argument.description)}`);
      }
      const examples = examplesIn(help, name);
      expect(examples.length, "examples of the command itself").toBeGreaterThan(0);
      // An example uses only options the command has: a renamed option leaves none behind.
      const known = new Set([...visibleOptions(name).map((o) => o.long), "--help", "--debug"]);
      for (const example of examples) {
        const used = example.slice(example.indexOf(`strongroom ${name}`)).match(/--[a-z-]+/g);
        for (const flag of used ?? [])
          expect(known, `${flag} in: ${example.trim()}`).toContain(flag);
      }
    },
  );
});

const USAGE_CASES = COMMANDS.flatMap((name) =>
  [misspeltOption(name), WRONG_ARGUMENTS[name]].map((usage) => ({
    name,
    json: hasJsonOption(name),
    ...usage,
  })),
);

describe("usage errors: exit 2, one STRONGROOM_ERR_USAGE line on stderr, nothing changed", () => {
  for (const { name, why, args, json, ...usage } of USAGE_CASES) {
    it.concurrent(`${name}: ${why}${json ? " (and as JSON with --json)" : ""}`, async ({
      expect,
    }) => {
      const plain = await runCli(untouched, [name, ...args]);
      const message = usageFailure(plain, false);
      if ("suggests" in usage) expect(message).toContain(`(Did you mean ${usage.suggests}?)`);
      if (json) {
        // With --json the same error, as {"error":{"code","message"}}.
        const asJson = await runCli(untouched, [name, ...args, "--json"]);
        expect(usageFailure(asJson, true)).toBe(message);
      }
      expect(existsSync(untouched), "the state dir (or anything in it) was created").toBe(false);
    });
  }
});

/**
 * Starts `strongroom up` with the example passwords, runs the everyday commands, then looks for
 * every seeded value (8 characters or more) where no value belongs: the broker's stdout and
 * stderr, the output of commands that do not print values, and every file of the state dir
 * (the Vault's storage is encrypted, so a plain value in it is a leak too). A finding names the
 * secret and where it was, never the value.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { type CliResult, EXAMPLE_PASSWORDS, useUp } from "../helpers/strongroom-up.js";

const MIN_LENGTH = 8;

/** Every string value of the passwords file, named by its path (KeystoneFernetKeys/.../content). */
function seededValues(): Map<string, string> {
  const values = new Map<string, string>();
  const visit = (name: string, value: unknown) => {
    if (typeof value === "string") {
      if (value.length >= MIN_LENGTH) values.set(name, value);
    } else if (value && typeof value === "object") {
      for (const [key, inner] of Object.entries(value)) visit(`${name}/${key}`, inner);
    }
  };
  const file = parseYaml(readFileSync(EXAMPLE_PASSWORDS, "utf8")) as {
    parameter_defaults: Record<string, unknown>;
  };
  for (const [name, value] of Object.entries(file.parameter_defaults)) visit(name, value);
  return values;
}

/** The forms a value may take in text: as is, JSON-escaped, URL-encoded. */
function formsOf(value: string): string[] {
  return [...new Set([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)])];
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : entry.isFile() ? [path] : [];
  });
}

const { root, stateDir, up, run } = useUp("strongroom-leak-scan-", {
  start: { args: ["--seed", EXAMPLE_PASSWORDS, "--no-schedules"] },
});
/** nova's kit: its identity and castellan settings; its values are fetched, never written. */
const kit = join(root, "nova-kit");
const seeded = seededValues();
/** Where each text came from, for the findings. */
const scanned = new Map<string, string>();

function keep(where: string, result: CliResult, stdoutMayHoldValues = false): CliResult {
  if (!stdoutMayHoldValues) scanned.set(`${where} stdout`, result.stdout);
  scanned.set(`${where} stderr`, result.stderr);
  return result;
}

function findings(): string[] {
  const found: string[] = [];
  for (const [where, text] of scanned) {
    for (const [name, value] of seeded) {
      if (formsOf(value).some((form) => text.includes(form))) found.push(`${name} in ${where}`);
    }
  }
  return found;
}

beforeAll(async () => {
  const commands: Array<[string, string[], boolean?]> = [
    ["seed", ["seed", EXAMPLE_PASSWORDS]],
    ["seed --json", ["seed", EXAMPLE_PASSWORDS, "--json"]],
    ["seed --dry-run", ["seed", EXAMPLE_PASSWORDS, "--dry-run"]],
    ["get", ["get", "nova", "keystone_authtoken", "password"], true],
    ["get --json", ["get", "nova", "keystone_authtoken", "password", "--json"], true],
    ["get unknown", ["get", "nova", "nope", "nope"]],
    ["render", ["render", "nova"], true],
    ["render json", ["render", "nova", "--format", "json"], true],
    ["rotate --plan", ["rotate", "NovaPassword", "--plan"]],
    ["rotate --plan --json", ["rotate", "NovaPassword", "--plan", "--json"]],
    ["service-kit", ["service-kit", "nova", "--out", kit]],
    ["status", ["status"]],
    ["status --json", ["status", "--json"]],
    ["rotations", ["rotations"]],
    ["rotations --json", ["rotations", "--json"]],
    // The file holds the values (outside the state dir); what the command prints must not.
    ["passwords", ["passwords", "--format", "tripleo", "--out", join(root, "passwords.yaml")]],
    [
      "passwords --json",
      ["passwords", "--format", "osp-secret", "--out", join(root, "osp.yaml"), "--json"],
    ],
  ];
  const failed: string[] = [];
  for (const [where, args, printsValues] of commands) {
    const result = keep(where, await run(args), printsValues);
    if ((result.code === 0) === (where === "get unknown")) failed.push(`${where}: ${result.code}`);
  }
  // A command that failed early printed little: the scan would prove nothing.
  expect(failed).toEqual([]);
}, 180_000);

describe("leak scan", () => {
  it("the scan finds a value where one is printed (get and render print NovaPassword)", async () => {
    const get = await run(["get", "nova", "keystone_authtoken", "password"]);
    expect(get.code).toBe(0);
    const nova = seeded.get("NovaPassword")!;
    expect(formsOf(nova).some((form) => get.stdout.includes(form))).toBe(true);
  });

  it("no seeded value in command output that should hold none", () => {
    expect(findings()).toEqual([]);
  });

  it("no seeded value in the broker's stdout or stderr", async () => {
    await up().stop("SIGTERM");
    scanned.clear();
    scanned.set("broker stdout", up().stdout());
    scanned.set("broker stderr", up().stderr());
    expect(up().stdout()).toContain("strongroom is up");
    expect(findings()).toEqual([]);
  });

  it("no seeded value in any file of the state dir or of nova's service kit", () => {
    scanned.clear();
    const files = [...walk(stateDir), ...walk(kit)];
    expect(files.length).toBeGreaterThan(3);
    for (const file of files) {
      scanned.set(relative(root, file), readFileSync(file).toString("latin1"));
    }
    expect(findings()).toEqual([]);
  });
});

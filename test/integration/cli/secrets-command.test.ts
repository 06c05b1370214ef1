/**
 * `strongroom secrets` against one `strongroom up` (example manifest and passwords): list, show
 * and consumers answer the broker's metadata and never a value; `set` takes the value from stdin
 * only, and `get`/`render` serve it after. Values are compared as digests, never printed.
 * Runs `node bin/strongroom.js`.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Value from "typebox/value";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { PutSecretAnswer, SecretsListAnswer } from "../../../src/server/wire.js";
import { digestOf } from "../../helpers/secret-digests.js";
import {
  EXAMPLE_PASSWORDS,
  httpsRequest,
  operatorToken,
  readState,
  useUp,
} from "../../helpers/strongroom-up.js";
import { expectFailure, usageFailure } from "./cli-assertions.js";

const { stateDir, run } = useUp("strongroom-cli-secrets-");

interface Metadata {
  name: string;
  type: string;
  version: number;
  created: number;
  consumers: string[];
}

async function jsonOf(args: string[]): Promise<unknown> {
  const result = await run(args);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as unknown;
}

/** The broker's own answer, straight from the route. */
async function brokerSecrets(): Promise<Metadata[]> {
  const answer = await httpsRequest(`${readState(stateDir).broker.url}/v1/secrets`, {
    ca: readFileSync(join(stateDir, "ca.pem")),
    token: operatorToken(stateDir),
  });
  expect(answer.status, answer.text).toBe(200);
  return (JSON.parse(answer.text) as { secrets: Metadata[] }).secrets;
}

const versionOf = async (name: string) =>
  (await brokerSecrets()).find((s) => s.name === name)?.version;

/** Fails, naming the secret only, when `text` holds any of the seeded values. */
function expectNoSeededValue(text: string): void {
  const seeded = (
    parseYaml(readFileSync(EXAMPLE_PASSWORDS, "utf8")) as {
      parameter_defaults: Record<string, unknown>;
    }
  ).parameter_defaults;
  const leaked = Object.entries(seeded)
    .filter(([, value]) => typeof value === "string" && value.length >= 8 && text.includes(value))
    .map(([name]) => name);
  expect(leaked).toEqual([]);
}

/** What the nova service is served for its Keystone password, as a digest. */
async function servedNovaPassword(): Promise<{ get: string; render: string }> {
  const [got, rendered] = await Promise.all([
    jsonOf(["get", "nova", "keystone_authtoken", "password", "--json"]),
    jsonOf(["render", "nova", "--format", "json"]),
  ]);
  const groups = (rendered as { groups: Record<string, Record<string, { value: unknown }>> })
    .groups;
  return {
    get: digestOf((got as { value: unknown }).value),
    render: digestOf(groups["keystone_authtoken"]!["password"]!.value),
  };
}

const NOVA_CONSUMERS = ["cinder", "neutron", "nova"];

describe("secrets list, show, consumers: metadata, never a value", () => {
  it("list --json: the broker's list, in the route's shape, without any value", async () => {
    const result = await run(["secrets", "list", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout) as { secrets: Metadata[] };
    expect([...Value.Errors(SecretsListAnswer, answer)]).toEqual([]);
    expect(answer.secrets).toEqual(await brokerSecrets());
    expect(answer.secrets.length).toBeGreaterThan(10);
    const nova = answer.secrets.find((s) => s.name === "NovaPassword");
    expect(nova?.consumers.sort()).toEqual(NOVA_CONSUMERS);
    expectNoSeededValue(result.stdout);
  });

  it("list (the default action): a header row, then one row per secret, without any value", async () => {
    const [plain, implicit] = await Promise.all([run(["secrets", "list"]), run(["secrets"])]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(implicit.stdout).toBe(plain.stdout);
    const lines = plain.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME +TYPE +VERSION +CREATED +CONSUMERS$/);
    const secrets = await brokerSecrets();
    expect(lines.slice(1).map((line) => line.split(/ +/)[0])).toEqual(secrets.map((s) => s.name));
    const nova = lines.find((line) => line.startsWith("NovaPassword "))!;
    expect(nova.split(/ +/)).toEqual([
      "NovaPassword",
      expect.stringMatching(/^(passphrase|opaque)$/),
      String(secrets.find((s) => s.name === "NovaPassword")!.version),
      expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      expect.stringMatching(/^[a-z,-]+$/),
    ]);
    expect(nova.split(/ +/)[4]!.split(",").sort()).toEqual(NOVA_CONSUMERS);
    expectNoSeededValue(plain.stdout);
  });

  it("show NAME: the secret's metadata (JSON: the list's entry), never its value", async () => {
    const [asJson, plain, listed] = await Promise.all([
      jsonOf(["secrets", "show", "NovaPassword", "--json"]),
      run(["secrets", "show", "NovaPassword"]),
      brokerSecrets(),
    ]);
    const entry = listed.find((s) => s.name === "NovaPassword")!;
    expect(asJson).toEqual(entry);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/^name +NovaPassword$/m);
    expect(plain.stdout).toMatch(new RegExp(`^version +${entry.version}$`, "m"));
    expect(plain.stdout).toMatch(new RegExp(`^consumers +${entry.consumers.join(", ")}$`, "m"));
    expect(plain.stdout).toMatch(/^created +\d{4}-\d\d-\d\dT/m);
    expectNoSeededValue(plain.stdout + JSON.stringify(asJson));
  });

  it("consumers NAME: the consuming services, one a line (JSON: {name, consumers})", async () => {
    const [plain, asJson] = await Promise.all([
      run(["secrets", "consumers", "NovaPassword"]),
      jsonOf(["secrets", "consumers", "NovaPassword", "--json"]),
    ]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout.trimEnd().split("\n").sort()).toEqual(NOVA_CONSUMERS);
    expect(asJson).toMatchObject({ name: "NovaPassword" });
    expect((asJson as { consumers: string[] }).consumers.sort()).toEqual(NOVA_CONSUMERS);
  });

  it.each(["show", "consumers", "set"])(
    "%s of an unknown secret: one STRONGROOM_ERR_UNKNOWN_SECRET line, exit 2",
    async (action) => {
      const before = await brokerSecrets();
      for (const json of [false, true]) {
        const result = await run(
          ["secrets", action, "NoSuchSecret", ...(json ? ["--json"] : [])],
          "a value nothing should store\n",
        );
        const message = expectFailure(result, {
          code: "STRONGROOM_ERR_UNKNOWN_SECRET",
          exit: 2,
          json,
        });
        expect(message).toContain("NoSuchSecret");
      }
      expect(await brokerSecrets()).toEqual(before);
    },
  );
});

describe("secrets set: the value from stdin only, served at once", () => {
  it("a one-line value (trailing newline cut): a new version, which get and render serve", async () => {
    const before = await versionOf("NovaPassword");
    const value = randomBytes(18).toString("base64url");
    const result = await run(["secrets", "set", "NovaPassword", "--json"], `${value}\n`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    const answer = JSON.parse(result.stdout) as unknown;
    expect([...Value.Errors(PutSecretAnswer, answer)]).toEqual([]);
    expect(answer).toEqual({ name: "NovaPassword", version: before! + 1 });
    expect(await versionOf("NovaPassword")).toBe(before! + 1);
    expect(await servedNovaPassword()).toEqual({ get: digestOf(value), render: digestOf(value) });
  });

  it("a multi-line value: all of stdin, its trailing newline cut; prints the name and version only", async () => {
    const before = await versionOf("NovaPassword");
    // oslo.config's INI parser keeps a continuation line only when it neither is empty nor
    // starts or ends with whitespace (the broker refuses a value it cannot deliver).
    const value = `${randomBytes(9).toString("hex")}\n${randomBytes(9).toString("hex")}`;
    const result = await run(["secrets", "set", "NovaPassword"], `${value}\n`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`NovaPassword: version ${before! + 1}\n`);
    expect(result.stderr).toBe("");
    expect(await servedNovaPassword()).toEqual({ get: digestOf(value), render: digestOf(value) });
  });

  it.each([
    ["empty stdin", ""],
    ["a lone newline", "\n"],
  ])("%s: refused with a usage error, nothing written", async (_, input) => {
    const before = await versionOf("NovaPassword");
    usageFailure(await run(["secrets", "set", "NovaPassword"], input), false);
    expect(await versionOf("NovaPassword")).toBe(before);
  });

  it("the command line never carries the value: an extra argument or a --value option is a usage error", async () => {
    const before = await versionOf("NovaPassword");
    const value = randomBytes(12).toString("hex");
    const extra = usageFailure(await run(["secrets", "set", "NovaPassword", value], ""), false);
    const option = usageFailure(
      await run(["secrets", "set", "NovaPassword", "--value", value], ""),
      false,
    );
    // The rejection does not echo what was typed either.
    expect(extra.includes(value) || option.includes(value)).toBe(false);
    expect(await versionOf("NovaPassword")).toBe(before);
  });
});

describe("secrets usage errors", () => {
  it("an unknown action or a name for list: exit 2, one STRONGROOM_ERR_USAGE line", async () => {
    const [action, listName] = await Promise.all([
      run(["secrets", "delete", "NovaPassword"]),
      run(["secrets", "list", "NovaPassword", "--json"]),
    ]);
    expect(usageFailure(action, false)).toMatch(/list, show, consumers, set|choices/);
    usageFailure(listName, true);
  });
});

/**
 * The broker's audit log against a real `strongroom up` (example manifest and passwords): the
 * commands an operator and a service run leave one record each (who, which service, option,
 * version; never a value), `strongroom audit verify` checks the HMAC chain and names the first
 * edited or removed line, `audit tail` shows the last records, and the embedded Vault's own file
 * audit device writes HMAC'd entries into the state dir. Runs `node bin/strongroom.js`.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { EXAMPLE_PASSWORDS, httpsRequest, readState, useUp } from "../helpers/strongroom-up.js";

const { root, stateDir, up, cli, run } = useUp("strongroom-audit-");
const auditFile = join(stateDir, "audit.log");

/** The seeded values (and a rendered secret), to look for: never printed. */
function secretValues(rendered: unknown): string[] {
  const seeded = (
    parse(readFileSync(EXAMPLE_PASSWORDS, "utf8")) as {
      parameter_defaults: Record<string, unknown>;
    }
  ).parameter_defaults;
  const values = Object.values(seeded).filter((v): v is string => typeof v === "string");
  const option = (rendered as { value: unknown }).value;
  if (typeof option === "string") values.push(option);
  return values.filter((v) => v.length >= 8);
}

type Record_ = Record<string, unknown> & { seq: number; event: string };

const records = (): Record_[] =>
  readFileSync(auditFile, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record_);

let getAnswer: unknown;

beforeAll(async () => {
  getAnswer = JSON.parse(
    (await cli(["get", "nova", "keystone_authtoken", "password", "--json"])).stdout,
  );
  await cli(["render", "nova"]);
  await cli(["seed", EXAMPLE_PASSWORDS]);
  await cli(["service-kit", "nova", "--out", join(root, "nova-kit")]);
  await cli(["rotate", "NovaPassword", "--plan"]);
  const asNova = await httpsRequest(
    `${readState(stateDir).broker.url}/v1/config/nova/keystone_authtoken/password`,
    {
      ca: readFileSync(join(stateDir, "ca.pem")),
      cert: readFileSync(join(stateDir, "identities", "nova.pem")),
      key: readFileSync(join(stateDir, "identities", "nova.key")),
    },
  );
  expect(asNova.status).toBe(200);
  // Records are written behind the answers: give the last one a moment.
  await new Promise((resolve) => setTimeout(resolve, 300));
}, 180_000);

describe("the broker's audit log", () => {
  it("records who looked up, seeded, issued a kit and planned, never a value, in a 0600 file", () => {
    expect(statSync(auditFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(stateDir, "audit.key")).mode & 0o777).toBe(0o600);
    const all = records();
    const of = (event: string) => all.filter((r) => r.event === event);
    expect(of("lookup")).toContainEqual(
      expect.objectContaining({
        identity: "operator",
        service: "nova",
        group: "keystone_authtoken",
        option: "password",
        version: (getAnswer as { version: number }).version,
      }),
    );
    expect(of("lookup")).toContainEqual(
      expect.objectContaining({ identity: "operator", service: "nova", scope: "config.conf" }),
    );
    expect(of("lookup")).toContainEqual(
      expect.objectContaining({
        identity: "service:nova",
        via: "certificate",
        service: "nova",
        option: "password",
      }),
    );
    const seeds = of("seed");
    expect(seeds.map((s) => s.identity)).toEqual(["up", "operator"]);
    expect(seeds[1]!.entries).toContainEqual({ name: "NovaPassword", action: "keep" });
    expect(of("kit-issued")).toEqual([
      expect.objectContaining({ identity: "operator", service: "nova" }),
    ]);
    expect(of("kit-issued")[0]!.secretIdAccessor).toEqual(expect.any(String));
    expect(of("rotation-plan")).toEqual([
      expect.objectContaining({ identity: "operator", secrets: ["NovaPassword"] }),
    ]);

    const text = readFileSync(auditFile, "utf8");
    const values = secretValues(getAnswer);
    expect(values.length).toBeGreaterThan(5);
    const leaked = values.filter((value) => text.includes(value)).length;
    expect(leaked, "seeded or served values found in audit.log").toBe(0);
  });

  it("audit tail -n 3 --json gives the last 3 records", async () => {
    const tail = JSON.parse((await cli(["audit", "tail", "-n", "3", "--json"])).stdout) as {
      records: Record_[];
    };
    const all = records();
    expect(tail.records.map((r) => r.seq)).toEqual(all.slice(-3).map((r) => r.seq));
  });

  it("audit verify passes, and names an edited or removed line, or a truncated tail, with exit 1", async () => {
    const verified = JSON.parse((await cli(["audit", "verify", "--json"])).stdout) as {
      records: number;
    };
    const lines = readFileSync(auditFile, "utf8").split("\n").slice(0, -1);
    expect(verified.records).toBe(lines.length);
    expect(lines.length).toBeGreaterThan(5);

    // Stopped first: the broker must not append while the file is rewritten.
    await up().stop();
    const original = readFileSync(auditFile, "utf8");
    try {
      const edited = [...lines];
      edited[3] = edited[3]!.replace(/"event":"[a-z-]+"/, '"event":"nothing-happened"');
      expect(edited[3]).not.toBe(lines[3]);
      writeFileSync(auditFile, `${edited.join("\n")}\n`);
      const afterEdit = await run(["audit", "verify"]);
      expect(afterEdit.code).toBe(1);
      expect(afterEdit.stderr.trim().split("\n")).toHaveLength(1);
      expect(afterEdit.stderr).toMatch(/STRONGROOM_ERR_AUDIT_CHAIN.*line 4: .*edited/);

      writeFileSync(auditFile, `${[...lines.slice(0, 2), ...lines.slice(3)].join("\n")}\n`);
      const afterRemoval = await run(["audit", "verify"]);
      expect(afterRemoval.code).toBe(1);
      expect(afterRemoval.stderr).toMatch(/STRONGROOM_ERR_AUDIT_CHAIN.*line 3: .*removed/);

      // The last 3 lines removed: an intact but shorter chain, caught by the sealed checkpoint.
      const sealed = original.split("\n").slice(0, -1);
      writeFileSync(auditFile, `${sealed.slice(0, -3).join("\n")}\n`);
      const afterTruncation = await run(["audit", "verify"]);
      expect(afterTruncation.code).toBe(1);
      const n = sealed.length;
      expect(afterTruncation.stderr).toMatch(
        new RegExp(`STRONGROOM_ERR_AUDIT_CHAIN: .*records ${n - 2} to ${n} missing .*truncated`),
      );
    } finally {
      writeFileSync(auditFile, original);
    }
    await cli(["audit", "verify"]);
  });

  it("the embedded Vault's file audit device writes HMAC'd entries, 0600, in the state dir", () => {
    const file = join(stateDir, "vault-audit.log");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    const entries = text.split("\n").filter((line) => line !== "");
    expect(entries.length).toBeGreaterThan(10);
    expect(text).toContain("hmac-sha256:");
    const leaked = secretValues(getAnswer).filter((value) => text.includes(value)).length;
    expect(leaked, "seeded or served values found in vault-audit.log").toBe(0);
  });
});

/**
 * The commands that talk to the broker, against one `strongroom up` (example manifest and
 * passwords) shared by the whole file: their --json output is one JSON document of the shape the
 * route declares (src/server/wire.ts) or the command documents; a state dir that never saw a
 * broker fails with one STRONGROOM_ERR_NO_STATE line; once the broker stopped, one
 * STRONGROOM_ERR_BROKER_DOWN line (`status` reports it stopped and exits 1). keygen, export and
 * import --json run here too: they need the broker's bundle. Runs `node bin/strongroom.js`.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { TSchema } from "typebox";
import Value from "typebox/value";
import { beforeAll, describe, expect, it } from "vitest";
import { loadManifest } from "../../../src/config/manifest.js";
import {
  ExportSummaryAnswer,
  OptionAnswer,
  PasswordsAnswer,
  RotationListAnswer,
  RotationPlansAnswer,
  RotationsStartedAnswer,
  SeedAnswer,
  ServiceOptionsAnswer,
} from "../../../src/server/wire.js";
import {
  EXAMPLE_MANIFEST,
  EXAMPLE_PASSWORDS,
  httpsRequest,
  operatorToken,
  readState,
  runCli,
  useUp,
} from "../../helpers/strongroom-up.js";
import { type CommandName, expectFailure, hasJsonOption } from "./cli-assertions.js";

const { root, stateDir, at, up, cli, run } = useUp("strongroom-cli-broker-");
const SITE = at("site");

beforeAll(async () => {
  await cli(["keygen", "--out", SITE]);
});

/** Parses stdout as one JSON document, after a clean exit with nothing on stderr. */
async function jsonOf(args: string[]): Promise<unknown> {
  const result = await run(args);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as unknown;
}

/** Fails with every place `value` differs from the route's schema. */
function expectShape(schema: TSchema, value: unknown): void {
  const problems = [...Value.Errors(schema, value)].map((e) => `${e.instancePath}: ${e.message}`);
  expect(problems).toEqual([]);
}

async function secretNames(): Promise<string[]> {
  const answer = await httpsRequest(`${readState(stateDir).broker.url}/v1/secrets`, {
    ca: readFileSync(join(stateDir, "ca.pem")),
    token: operatorToken(stateDir),
  });
  expect(answer.status, answer.text).toBe(200);
  return (JSON.parse(answer.text) as { secrets: Array<{ name: string }> }).secrets.map(
    (s) => s.name,
  );
}

describe("--json with the broker running: one JSON document on stdout", () => {
  it("seed --dry-run --json: the seed answer; seeding again would keep every secret and write none", async () => {
    const answer = await jsonOf(["seed", EXAMPLE_PASSWORDS, "--dry-run", "--json"]);
    expectShape(SeedAnswer, answer);
    const { dry_run, written, entries } = answer as {
      dry_run: boolean;
      written: number;
      entries: Array<{ name: string; action: string }>;
    };
    expect({ dry_run, written }).toEqual({ dry_run: true, written: 0 });
    expect(entries.map((e) => e.name).sort()).toEqual((await secretNames()).sort());
    expect(entries.filter((e) => e.action !== "keep")).toEqual([]);
  });

  it("get --json: the option answer, whose value is what plain `get` prints", async () => {
    const args = ["get", "nova", "keystone_authtoken", "password"];
    const [answer, plain] = await Promise.all([jsonOf([...args, "--json"]), run(args)]);
    expectShape(OptionAnswer, answer);
    expect(answer).toMatchObject({ location: { source: "castellan", detail: "NovaPassword" } });
    expect(plain.code, plain.stderr).toBe(0);
    expect(`${(answer as { value: string }).value}\n`).toBe(plain.stdout);
  });

  it("render --format json (render's machine output): every option of the service, as get answers it", async () => {
    const [rendered, one] = await Promise.all([
      jsonOf(["render", "nova", "--format", "json"]),
      jsonOf(["get", "nova", "keystone_authtoken", "password", "--json"]),
    ]);
    expectShape(ServiceOptionsAnswer, rendered);
    const { service, groups } = rendered as { service: string; groups: Record<string, object> };
    expect(service).toBe("nova");
    expect(Object.keys(groups)).toEqual(
      expect.arrayContaining(["DEFAULT", "database", "keystone_authtoken"]),
    );
    expect(groups["keystone_authtoken"]).toMatchObject({ password: one as object });
  });

  it("rotate --plan --json: the plans, and nothing started; --resume --json with nothing unfinished: no rotation", async () => {
    const planned = await jsonOf(["rotate", "NovaPassword", "--plan", "--json"]);
    expectShape(RotationPlansAnswer, planned);
    const { plans } = planned as { plans: Array<{ secret: string; consumers: unknown[] }> };
    expect(plans.map((p) => p.secret)).toEqual(["NovaPassword"]);
    expect(plans[0]!.consumers.length).toBeGreaterThan(0);
    const resumed = await jsonOf(["rotate", "--resume", "--json"]);
    expectShape(RotationsStartedAnswer, resumed);
    expect(resumed).toEqual({ rotations: [] });
    expect(await jsonOf(["rotations", "--json"])).toMatchObject({ rotations: [] });
  });

  it("rotations --json: the rotation list with the manifest's schedules; an unknown id is one JSON error line", async () => {
    const listed = await jsonOf(["rotations", "--json"]);
    expectShape(RotationListAnswer, listed);
    const { schedules } = listed as { schedules: Array<{ secret: string }> };
    const scheduled = [...loadManifest(EXAMPLE_MANIFEST).secrets]
      .filter(([, secret]) => secret.rotate?.schedule !== undefined)
      .map(([name]) => name);
    expect(scheduled.length).toBeGreaterThan(0);
    expect(schedules.map((s) => s.secret).sort()).toEqual(scheduled.sort());

    const unknown = await run(["rotations", "no-such-rotation", "--json"]);
    expect(
      expectFailure(unknown, { code: "STRONGROOM_ERR_UNKNOWN_ROTATION", exit: 2, json: true }),
    ).toMatch(/no-such-rotation/);
  });

  it("status --json: this broker running and ready, its Vault unsealed, its services and secrets", async () => {
    const report = await jsonOf(["status", "--json"]);
    const services = [...loadManifest(EXAMPLE_MANIFEST).services.keys()].sort();
    expect(report).toMatchObject({
      deployment: readState(stateDir).deployment,
      stateDir,
      broker: {
        url: readState(stateDir).broker.url,
        pid: up().child.pid,
        running: true,
        ready: true,
      },
      vault: { sealed: false },
      services,
      secrets: (await secretNames()).length,
      unfinishedRotations: [],
      missedSchedules: [],
    });
  });

  it("keygen --json: the key files it wrote and the fingerprint --fingerprint --json finds", async () => {
    const made = (await jsonOf(["keygen", "--out", at("edge"), "--json"])) as {
      publicFile: string;
      secretFile: string;
      fingerprint: string;
    };
    expect(statSync(made.secretFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(made.publicFile, "utf8")).toMatch(/^strongroom-public-key v1 /m);
    const checked = await jsonOf(["keygen", "--fingerprint", made.publicFile, "--json"]);
    expect(checked).toEqual({ publicFile: made.publicFile, fingerprint: made.fingerprint });
  });

  it("export --json then import --json: the bundle summary, and the import report of that bundle", async () => {
    const outDir = mkdtempSync(join(root, "out-"));
    const bundle = join(outDir, "overcloud.bundle");
    const exported = (await jsonOf([
      "export",
      "--recipient",
      `${SITE}.pub`,
      "--out",
      bundle,
      "--json",
    ])) as { file: string; bytes: number; signer: string; recipients: string[] };
    const { file, ...summary } = exported;
    expectShape(ExportSummaryAnswer, summary);
    expect(file).toBe(bundle);
    expect(exported.bytes).toBe(statSync(bundle).size);
    expect(readdirSync(outDir), "nothing but the bundle (no temporary file)").toEqual([
      "overcloud.bundle",
    ]);
    const site = await jsonOf(["keygen", "--fingerprint", `${SITE}.pub`, "--json"]);
    expect(exported.recipients).toEqual([(site as { fingerprint: string }).fingerprint]);

    const target = at("imported");
    const trust = join(stateDir, "broker-bundle.pub");
    const report = await jsonOf([
      "import",
      bundle,
      "--key",
      `${SITE}.key`,
      "--trust",
      trust,
      "--state-dir",
      target,
      "--json",
    ]);
    expect(report).toMatchObject({
      stateDir: target,
      deployment: readState(stateDir).deployment,
      signer: exported.signer,
      secrets: (await secretNames()).length,
    });
    expect(readState(target).pid).toBeNull();
  }, 120_000);

  it("passwords --json: the file it wrote and the route's summary, without the file's text", async () => {
    const out = at("overcloud-passwords.yaml");
    const written = (await jsonOf([
      "passwords",
      "--format",
      "tripleo",
      "--out",
      out,
      "--json",
    ])) as {
      file: string;
    };
    const { file, ...summary } = written;
    expectShape(PasswordsAnswer, { ...summary, text: "" });
    expect(summary).not.toHaveProperty("text");
    expect(file).toBe(out);
    expect(summary).toMatchObject({ deployment: "overcloud", format: "tripleo" });
  });
});

/** The commands that need the running broker, with arguments that would work if it ran. */
const BROKER_COMMANDS: Array<{ name: CommandName; args: string[]; creates?: string }> = [
  { name: "seed", args: [EXAMPLE_PASSWORDS] },
  { name: "get", args: ["nova", "keystone_authtoken", "password"] },
  { name: "render", args: ["nova"] },
  { name: "service-kit", args: ["nova", "--out", at("nova-kit")], creates: at("nova-kit") },
  {
    name: "files",
    args: ["keystone", "--out", at("keystone-files")],
    creates: at("keystone-files"),
  },
  { name: "secrets", args: ["show", "NovaPassword"] },
  { name: "kits", args: ["revoke", "nova", "--all"] },
  { name: "rotate", args: ["NovaPassword", "--plan"] },
  { name: "rotations", args: [] },
  { name: "status", args: [] },
  {
    name: "export",
    args: ["--recipient", `${SITE}.pub`, "--out", at("never.bundle")],
    creates: at("never.bundle"),
  },
  {
    name: "passwords",
    args: ["--format", "kolla", "--out", at("never-passwords.yml")],
    creates: at("never-passwords.yml"),
  },
];

const title = ({ name, creates }: (typeof BROKER_COMMANDS)[number]) =>
  `${name}${hasJsonOption(name) ? " (and with --json, as JSON)" : ""}` +
  `${creates ? `, writing nothing` : ""}`;

/** The command, and again with --json when it has it: one failure line each time. */
async function expectBrokerFailure(
  dir: string,
  { name, args, creates }: (typeof BROKER_COMMANDS)[number],
  code: string,
): Promise<void> {
  const variants = hasJsonOption(name) ? [false, true] : [false];
  const results = await Promise.all(
    variants.map((json) => runCli(dir, [name, ...args, ...(json ? ["--json"] : [])])),
  );
  for (const [i, json] of variants.entries()) {
    expectFailure(results[i]!, { code, exit: 1, json });
  }
  if (creates) expect(existsSync(creates), `${creates} was written`).toBe(false);
}

describe("a state dir that never saw a broker: exit 1, one STRONGROOM_ERR_NO_STATE line", () => {
  for (const command of BROKER_COMMANDS) {
    it.concurrent(title(command), async () => {
      await expectBrokerFailure(
        mkdtempSync(join(root, "empty-")),
        command,
        "STRONGROOM_ERR_NO_STATE",
      );
    });
  }
});

describe("the broker stopped: exit 1, one STRONGROOM_ERR_BROKER_DOWN line", () => {
  beforeAll(async () => {
    expect(await up().stop()).toBe(0);
    expect(readState(stateDir).pid, "up recorded that it stopped").toBeNull();
  }, 60_000);

  for (const command of BROKER_COMMANDS.filter((c) => c.name !== "status")) {
    it.concurrent(title(command), async () => {
      await expectBrokerFailure(stateDir, command, "STRONGROOM_ERR_BROKER_DOWN");
    });
  }

  it.concurrent("status: exit 1 with its report saying so (stopped; --json: running false)", async () => {
    const [plain, json] = await Promise.all([run(["status"]), run(["status", "--json"])]);
    for (const result of [plain, json]) {
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toBe("");
    }
    expect(plain.stdout).toMatch(/^broker +https:\/\/\S+ \(stopped\)$/m);
    expect(JSON.parse(json.stdout)).toMatchObject({
      broker: { running: false, ready: false, pid: null },
      secrets: null,
    });
  });
});

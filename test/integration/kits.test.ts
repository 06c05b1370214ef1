/**
 * Service kits against a real `strongroom up` (example manifest and passwords, embedded Vault),
 * driven through the CLI (`node bin/strongroom.js`): a kit whose secret-id has a 5 s TTL logs in
 * with Debian's hvac, then is refused once it expired; `kits list` shows every kit with its
 * certificate serial; `kits revoke` stops one kit's mTLS identity (403 STRONGROOM_ERR_KIT_REVOKED,
 * also on a connection opened before), its secret-id and the tokens it logged in, and `--all`
 * every kit of the service, while the state dir's own identity keeps working. The same `up`
 * sends its audit records to stdout and to a UDP syslog listener of the test.
 */
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithPython, runPythonJson } from "../helpers/python.js";
import { EXAMPLE_PASSWORDS, httpsRequest, readState, useUp } from "../helpers/strongroom-up.js";

const syslog = createSocket("udp4");
const syslogMessages: string[] = [];

afterAll(() => {
  syslog.close();
});

beforeAll(async () => {
  syslog.on("message", (message) => syslogMessages.push(message.toString("utf8")));
  await new Promise<void>((resolve) => syslog.bind(0, "127.0.0.1", resolve));
});

const { root, stateDir, up, cli, run } = useUp("strongroom-kits-", {
  start: () => ({
    args: [
      "--seed",
      EXAMPLE_PASSWORDS,
      "--audit-stdout",
      "--audit-syslog",
      `127.0.0.1:${syslog.address().port}`,
    ],
  }),
  startTimeoutMs: 180_000,
});

interface Kit {
  dir: string;
  serial: string;
  /** Its row in `kits list` right after it was issued. */
  listed: KitRow;
}

/** Writes a kit of nova and returns its directory and certificate serial (from `kits list`). */
async function issueKit(name: string, extra: string[] = []): Promise<Kit> {
  const dir = join(root, name);
  await cli(["service-kit", "nova", "--out", dir, ...extra]);
  const { kits } = await listKits();
  const { X509Certificate } = await import("node:crypto");
  const serial = new X509Certificate(readFileSync(join(dir, "client.pem"))).serialNumber
    .toLowerCase()
    .replace(/^0+/, "");
  const listed = kits.find((k) => k.serial === serial);
  expect(listed, `kits list names ${serial}`).toBeDefined();
  return { dir, serial, listed: listed! };
}

interface KitRow {
  service: string;
  serial?: string;
  status: string;
  secretIdAccessor?: string;
  secretIdExpires?: string;
  notAfter?: string;
  secretIdLive: boolean;
}

async function listKits(): Promise<{ kits: KitRow[] }> {
  return JSON.parse((await cli(["kits", "list", "nova", "--json"])).stdout) as { kits: KitRow[] };
}

const configUrl = () =>
  `${readState(stateDir).broker.url}/v1/config/nova/keystone_authtoken/password`;
const ca = () => readFileSync(join(stateDir, "ca.pem"));

/** GET of a nova option with the kit's (or the state dir's) client certificate. */
async function asIdentity(certFile: string, keyFile: string, agent?: Agent) {
  const answer = await httpsRequest(configUrl(), {
    ca: ca(),
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    ...(agent && { agent }),
  });
  const code = answer.status === 200 ? undefined : JSON.parse(answer.text).error?.code;
  return { status: answer.status, ...(code && { code }) };
}
const asKit = (kit: Kit, agent?: Agent) =>
  asIdentity(join(kit.dir, "client.pem"), join(kit.dir, "client.key"), agent);

/** hvac (Debian's python3-hvac) logs in with the kit's castellan.conf AppRole. */
const HVAC_LOGIN = `
import configparser, json, sys, hvac
conf = configparser.ConfigParser(interpolation=None)
conf.read(sys.argv[1])
vault = {k: v.strip(chr(34) + chr(39)) for k, v in conf["vault"].items()}  # values are quoted
client = hvac.Client(url=vault["vault_url"], verify=vault.get("ssl_ca_crt_file") or True)
try:
    auth = client.auth.approle.login(role_id=vault["approle_role_id"], secret_id=vault["approle_secret_id"])
    print(json.dumps({"ok": True, "token": auth["auth"]["client_token"]}))
except hvac.exceptions.VaultError as error:
    print(json.dumps({"ok": False, "kind": type(error).__name__, "error": str(error)}))
`;

async function hvacLogin(
  kit: Kit,
): Promise<{ ok: boolean; token?: string; kind?: string; error?: string }> {
  const { output } = await runPythonJson<{ ok: boolean; token?: string; error?: string }>(
    HVAC_LOGIN,
    [join(kit.dir, "castellan.conf")],
  );
  return output;
}

describeWithPython(["hvac"], "service kits: secret-id TTL, list, revoke", () => {
  it("a kit with --secret-id-ttl 5s logs in with hvac, and is refused once the secret-id expired", async () => {
    const kit = await issueKit("brief-kit", ["--secret-id-ttl", "5s"]);
    const issued = Date.now();
    const row = kit.listed;
    const first = await hvacLogin(kit);
    expect(first.ok, first.error).toBe(true);
    // The kit's certificate ends with its secret-id.
    expect(Date.parse(row.notAfter!) - Date.parse(row.secretIdExpires!)).toBeLessThan(5_000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, issued + 5_500 - Date.now())));
    const late = await hvacLogin(kit);
    expect(late).toMatchObject({ ok: false, kind: "InvalidRequest" });
    expect(late.error).toContain("invalid role or secret ID");
    const after = (await listKits()).kits.find((k) => k.serial === kit.serial)!;
    expect(after.status).toMatch(/^(expired|secret-id-gone)$/);
    expect(after.secretIdLive, JSON.stringify(after)).toBe(false);
  }, 60_000);

  it("kits revoke --serial stops that kit's certificate (also on an open connection), secret-id and tokens, not the others", async () => {
    const revoked = await issueKit("revoked-kit");
    const other = await issueKit("other-kit");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect(await asKit(revoked, agent)).toEqual({ status: 200 });
    const login = await hvacLogin(revoked);
    expect(login.ok, login.error).toBe(true);
    const withToken = () => httpsRequest(configUrl(), { ca: ca(), token: login.token! });
    expect((await withToken()).status).toBe(200);

    const table = (await cli(["kits"])).stdout;
    expect(table.split("\n")[0]).toMatch(
      /^SERVICE +STATUS +SERIAL +CERT NOT AFTER +SECRET-ID ACCESSOR/,
    );
    expect(table).toContain(revoked.serial);

    const out = await cli(["kits", "revoke", "nova", "--serial", revoked.serial]);
    expect(out.stdout).toContain(
      `nova: revoked kit ${revoked.serial} (certificate denied, secret-id destroyed`,
    );

    expect(await asKit(revoked, agent)).toEqual({
      status: 403,
      code: "STRONGROOM_ERR_KIT_REVOKED",
    });
    expect(await asKit(revoked)).toEqual({ status: 403, code: "STRONGROOM_ERR_KIT_REVOKED" });
    agent.destroy();
    expect((await hvacLogin(revoked)).ok).toBe(false);
    expect((await withToken()).status).toBe(401);
    expect(await asKit(other)).toEqual({ status: 200 });
    const rows = (await listKits()).kits;
    expect(rows.find((k) => k.serial === revoked.serial)?.status).toBe("revoked");
    expect(rows.find((k) => k.serial === other.serial)?.status).toBe("active");
  }, 60_000);

  it("kits revoke --all stops every kit of the service; the state dir's own identity still works", async () => {
    const kit = await issueKit("last-kit");
    expect(await asKit(kit)).toEqual({ status: 200 });
    const answer = JSON.parse(
      (await cli(["kits", "revoke", "nova", "--all", "--json"])).stdout,
    ) as {
      revoked: Array<{ serial?: string; secretId: string }>;
    };
    expect(answer.revoked).toContainEqual({
      serial: kit.serial,
      secretIdAccessor: expect.any(String),
      secretId: "destroyed",
    });
    expect(await asKit(kit)).toEqual({ status: 403, code: "STRONGROOM_ERR_KIT_REVOKED" });
    expect((await hvacLogin(kit)).ok).toBe(false);
    const rows = (await listKits()).kits;
    expect(rows.filter((k) => k.status === "active" || k.status === "untracked")).toEqual([]);
    const own = await asIdentity(
      join(stateDir, "identities", "nova.pem"),
      join(stateDir, "identities", "nova.key"),
    );
    expect(own).toEqual({ status: 200 });
  }, 60_000);

  it("kits revoke of a kit nobody issued: exit 2 STRONGROOM_ERR_UNKNOWN_KIT", async () => {
    const result = await run(["kits", "revoke", "nova", "--accessor", "no-such-accessor"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^STRONGROOM_ERR_UNKNOWN_KIT: /);
  });

  it("audits kit-issued and kit-revoked to the file, stdout and syslog; the chain verifies", async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const records = readFileSync(join(stateDir, "audit.log"), "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as { event: string; serial?: string; selector?: unknown });
    expect(records.filter((r) => r.event === "kit-issued").length).toBe(4);
    expect(records.filter((r) => r.event === "kit-revoked").map((r) => r.selector)).toEqual([
      expect.objectContaining({ serial: expect.any(String) }),
      { all: true },
    ]);
    const stdoutEvents = up()
      .stdout()
      .split("\n")
      .filter((line) => line.startsWith('{"seq":'))
      .map((line) => (JSON.parse(line) as { event: string }).event);
    expect(stdoutEvents).toContain("kit-revoked");
    expect(
      syslogMessages.some((m) => /^<110>1 \S+ \S+ strongroom \d+ kit-revoked - \{/.test(m)),
    ).toBe(true);
    const verified = JSON.parse((await cli(["audit", "verify", "--json"])).stdout);
    expect(verified).toMatchObject({ verified: true });
  });
});

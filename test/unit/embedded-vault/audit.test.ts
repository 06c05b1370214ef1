import { createHmac } from "node:crypto";
import {
  chmodSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  AuditBroker,
  type AuditDeviceConfig,
  type AuditRequestInfo,
} from "../../../src/embedded-vault/audit/audit-broker.js";
import { TokenStore } from "../../../src/embedded-vault/backends/token-store.js";
import { VaultError } from "../../../src/embedded-vault/errors.js";
import { memoryStorageView } from "../../helpers/memory-storage-view.js";

const SECRET = "correct-horse-battery-staple";

let dir: string;
let broker: AuditBroker;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "audit-test-"));
  broker = new AuditBroker({ now: () => new Date("2026-01-02T03:04:05.000Z") });
});

afterEach(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

function fileDevice(name: string, options: Record<string, string> = {}): AuditDeviceConfig {
  return AuditBroker.newDevice("file", `${name} log`, { file_path: join(dir, name), ...options });
}

interface AuditLine {
  type: string;
  error?: string;
  auth?: Record<string, unknown>;
  request: { id: string; data: { data: { password: string } } };
  response?: Record<string, unknown>;
}

const readLines = (name: string): AuditLine[] =>
  readFileSync(join(dir, name), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as AuditLine);

function requestInfo(): AuditRequestInfo {
  const tx = memoryStorageView();
  const store = new TokenStore();
  const token = store.create(tx, { policies: ["web"], meta: { app: "nova" } }, undefined);
  return {
    id: "req-42",
    operation: "update",
    path: "secret/data/db",
    data: { data: { password: SECRET, port: 3306, tls: true, tags: ["a", SECRET] } },
    clientToken: token.id,
    token,
    remoteAddress: "10.0.0.7",
    mountType: "kv",
  };
}

describe("newDevice", () => {
  it("validates the type and file_path", () => {
    const error = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as VaultError;
      }
      throw new Error("expected an error");
    };
    expect(error(() => AuditBroker.newDevice("socket", "", { file_path: "x" })).status).toBe(400);
    expect(error(() => AuditBroker.newDevice("file", "", {})).errors).toEqual([
      "file_path is required",
    ]);
    expect(
      error(() => AuditBroker.newDevice("file", "", { file_path: "x", log_raw: "true" })).status,
    ).toBe(400);
    expect(error(() => AuditBroker.newDevice("file", "", { file_path: dir })).status).toBe(400);
  });

  it("refuses a device node or a symlink: enabling it would chmod a host file (/dev/null at 0600 breaks the machine)", () => {
    const refusal = (filePath: string) => {
      try {
        // 0666 here: were it accepted, /dev/null would keep its usual mode.
        AuditBroker.newDevice("file", "", { file_path: filePath, mode: "0666" });
      } catch (e) {
        return e as VaultError;
      }
      throw new Error(`${filePath} was accepted`);
    };
    const devNull = refusal("/dev/null");
    expect(devNull.status).toBe(400);
    expect(devNull.errors).toEqual([
      'sys/audit: "/dev/null" is not a regular file (use "discard" to drop entries, "stdout" to print them)',
    ]);
    writeFileSync(join(dir, "host-file"), "");
    chmodSync(join(dir, "host-file"), 0o600);
    symlinkSync(join(dir, "host-file"), join(dir, "link.log"));
    expect(refusal(join(dir, "link.log")).errors).toEqual([
      `sys/audit: ${JSON.stringify(join(dir, "link.log"))} is a symbolic link: give the file itself`,
    ]);
    expect(statSync(join(dir, "host-file")).mode & 0o777).toBe(0o600);
  });

  it("accepts stdout and discard and gives every device its own salt", () => {
    const a = AuditBroker.newDevice("file", "", { file_path: "stdout" });
    const b = AuditBroker.newDevice("file", "", { file_path: "discard" });
    expect(a.salt).toMatch(/^[0-9a-f]{64}$/);
    expect(a.salt).not.toBe(b.salt);
    expect(b).toMatchObject({ type: "file", options: { file_path: "discard" } });
  });

  it("creates the file with mode 0600, even when it already existed more open", () => {
    writeFileSync(join(dir, "old.log"), "");
    chmodSync(join(dir, "old.log"), 0o644);
    fileDevice("old.log");
    fileDevice("new.log");
    expect(statSync(join(dir, "old.log")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "new.log")).mode & 0o777).toBe(0o600);
  });
});

describe("logging", () => {
  it("writes Vault-shaped request and response lines with every secret hashed", async () => {
    const config = fileDevice("audit.log");
    broker.load({ "file/": config });
    expect(broker.hasDevices()).toBe(true);
    const info = requestInfo();
    await broker.logRequest(info);
    await broker.logResponse(info, {
      status: 200,
      data: { created_time: "2026-01-02T03:04:05Z", version: 1 },
      auth: {
        client_token: "hvs.newtoken",
        accessor: "newaccessor",
        policies: ["web"],
        token_policies: ["web"],
        metadata: { role_name: "web" },
        lease_duration: 60,
        token_type: "service",
      },
    });

    const raw = readFileSync(join(dir, "audit.log"), "utf8");
    for (const plain of [SECRET, info.clientToken!, info.token!.accessor, "hvs.newtoken"]) {
      expect(raw).not.toContain(plain);
    }

    const [request, response] = readLines("audit.log") as [AuditLine, AuditLine];
    const hash = (value: string) =>
      `hmac-sha256:${createHmac("sha256", Buffer.from(config.salt, "hex")).update(value).digest("hex")}`;
    expect(broker.hash("file/", SECRET)).toBe(hash(SECRET));
    expect(broker.hash("file", SECRET)).toBe(hash(SECRET));

    expect(request).toEqual({
      time: "2026-01-02T03:04:05.000Z",
      type: "request",
      auth: {
        client_token: hash(info.clientToken!),
        accessor: hash(info.token!.accessor),
        display_name: "token",
        policies: ["default", "web"],
        token_policies: ["default", "web"],
        metadata: { app: "nova" },
        token_type: "service",
        token_ttl: info.token!.creation_ttl,
        token_issue_time: new Date(info.token!.creation_time * 1000).toISOString(),
      },
      request: {
        id: "req-42",
        operation: "update",
        mount_type: "kv",
        client_token: hash(info.clientToken!),
        client_token_accessor: hash(info.token!.accessor),
        namespace: { id: "root" },
        path: "secret/data/db",
        data: {
          data: { password: hash(SECRET), port: 3306, tls: true, tags: [hash("a"), hash(SECRET)] },
        },
        remote_address: "10.0.0.7",
      },
    });
    expect(response.type).toBe("response");
    expect(response.request).toEqual(request.request);
    expect(response.response).toEqual({
      mount_type: "kv",
      auth: {
        client_token: hash("hvs.newtoken"),
        accessor: hash("newaccessor"),
        policies: ["web"],
        token_policies: ["web"],
        metadata: { role_name: "web" },
        token_type: "service",
        token_ttl: 60,
      },
      data: { created_time: hash("2026-01-02T03:04:05Z"), version: 1 },
    });
  });

  it("records errors and unauthenticated requests", async () => {
    broker.load({ "file/": fileDevice("audit.log") });
    const info: AuditRequestInfo = {
      id: "req-1",
      operation: "update",
      path: "auth/approle/login",
      data: { role_id: "rid", secret_id: SECRET },
      remoteAddress: "127.0.0.1",
    };
    await broker.logResponse(info, { status: 400, errors: ["invalid role or secret ID"] });
    const [line] = readLines("audit.log");
    expect(line?.auth).toBeUndefined();
    expect(line?.error).toBe("invalid role or secret ID");
    expect(JSON.stringify(line)).not.toContain(SECRET);
  });

  it("hashes the same value differently on each device", async () => {
    broker.load({ "one/": fileDevice("one.log"), "two/": fileDevice("two.log") });
    await broker.logRequest(requestInfo());
    const one = readLines("one.log")[0]?.request.data.data.password;
    const two = readLines("two.log")[0]?.request.data.data.password;
    expect(one).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(two).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(one).not.toBe(two);
    expect(broker.hash("one/", "x")).not.toBe(broker.hash("two/", "x"));
  });

  it("honours prefix and hmac_accessor=false", async () => {
    broker.load({ "file/": fileDevice("audit.log", { prefix: "@cee:", hmac_accessor: "false" }) });
    const info = requestInfo();
    await broker.logRequest(info);
    const raw = readFileSync(join(dir, "audit.log"), "utf8");
    expect(raw.startsWith("@cee:{")).toBe(true);
    expect(JSON.parse(raw.slice(5)).auth.accessor).toBe(info.token!.accessor);
  });

  it("fails only when every device fails", async () => {
    const broken: AuditDeviceConfig = { ...fileDevice("x.log"), options: { file_path: dir } };
    broker.load({ "bad/": broken });
    await expect(broker.logRequest(requestInfo())).rejects.toThrow(/no audit device/);
    broker.load({ "bad/": broken, "good/": fileDevice("good.log") });
    await expect(broker.logRequest(requestInfo())).resolves.toBeUndefined();
    expect(readLines("good.log")).toHaveLength(1);
  });

  it("does nothing without devices and forgets unloaded devices", async () => {
    await expect(broker.logRequest(requestInfo())).resolves.toBeUndefined();
    expect(broker.hasDevices()).toBe(false);
    broker.load({ "file/": fileDevice("audit.log") });
    broker.load({});
    expect(broker.hasDevices()).toBe(false);
    expect(() => broker.hash("file/", "x")).toThrow(VaultError);
  });

  it("keeps writing in order under concurrency", async () => {
    broker.load({ "file/": fileDevice("audit.log") });
    const info = requestInfo();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => broker.logRequest({ ...info, id: `req-${i}` })),
    );
    expect(readLines("audit.log").map((line) => line.request.id)).toEqual(
      Array.from({ length: 50 }, (_, i) => `req-${i}`),
    );
  });
});

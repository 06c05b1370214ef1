import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureStatePki, identityFiles } from "../../../src/state/certificates.js";
import {
  resolveStateDirPath,
  STATE_FILES,
  StateDir,
  writeFileAtomic,
} from "../../../src/state/state-dir.js";
import {
  openUnsealShares,
  readOperatorKeyPair,
  sealUnsealShares,
} from "../../../src/state/unseal-shares.js";

const roots: string[] = [];
const tempRoot = () => {
  const root = mkdtempSync(join(tmpdir(), "strongroom-state-"));
  roots.push(root);
  return root;
};
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

/** Every file under `dir`, relative. */
function walk(dir: string, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? walk(join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  );
}

// Shaped like real Vault unseal keys (base64 of 33 bytes); never real ones.
const SHARES = [
  "dGVzdC1zaGFyZS0xLXRlc3Qtc2hhcmUtMS10ZXN0LXNoYXJlLTE=",
  "dGVzdC1zaGFyZS0yLXRlc3Qtc2hhcmUtMg==",
];

describe("state dir", () => {
  it("resolves --state-dir, then STRONGROOM_STATE_DIR, then ./.strongroom, always absolute", () => {
    expect(resolveStateDirPath("/x/y", "/env")).toBe("/x/y");
    expect(resolveStateDirPath(undefined, "/env")).toBe("/env");
    expect(resolveStateDirPath(undefined, undefined)).toBe(join(process.cwd(), ".strongroom"));
  });

  it("is created 0700 with 0600 files, written atomically", () => {
    const path = join(tempRoot(), "nested", "state");
    const dir = StateDir.create(path);
    expect(mode(path)).toBe(0o700);
    dir.write("a.txt", "one");
    dir.write("a.txt", "two");
    dir.write(join(STATE_FILES.identities, "nova.pem"), "pem");
    expect(readFileSync(dir.file("a.txt"), "utf8")).toBe("two");
    expect(mode(dir.file("a.txt"))).toBe(0o600);
    expect(mode(dir.file(STATE_FILES.identities))).toBe(0o700);
    expect(mode(dir.file("identities/nova.pem"))).toBe(0o600);
    // No temporary files are left behind.
    expect(walk(path).sort()).toEqual(["a.txt", "identities/nova.pem"]);
  });

  it("refuses a directory other users can read, and says how to fix it", () => {
    const path = join(tempRoot(), "open");
    mkdirSync(path, { mode: 0o755 });
    chmodSync(path, 0o755);
    expect(() => StateDir.create(path)).toThrow(
      /accessible to other users \(mode 755\): run `chmod 700/,
    );
  });

  it("open() without a state.json points at `strongroom up`", () => {
    expect(() => StateDir.open(tempRoot())).toThrow(/run `strongroom up` first/);
  });

  it("round-trips state.json", () => {
    const dir = StateDir.create(join(tempRoot(), "s"));
    const written = dir.writeState({
      deployment: "overcloud",
      manifest: "/m.yaml",
      broker: { url: "https://127.0.0.1:8443", host: "127.0.0.1", port: 8443 },
      vault: { kind: "embedded", addr: "https://127.0.0.1:8200", kvMount: "secret" },
      pid: 42,
    });
    expect(StateDir.open(dir.path).readState()).toEqual(written);
    expect(written.version).toBe(1);
  });

  it("writeFileAtomic replaces a file without ever exposing a partial one", () => {
    const file = join(tempRoot(), "f");
    writeFileSync(file, "old", { mode: 0o600 });
    writeFileAtomic(file, Buffer.alloc(1 << 20, 0x61));
    expect(statSync(file).size).toBe(1 << 20);
  });
});

describe("sealed unseal shares", () => {
  it("round-trip through the operator key, and nothing in the state dir holds them in the clear", async () => {
    const dir = StateDir.create(join(tempRoot(), "sealed"));
    await sealUnsealShares(dir, SHARES);
    expect(await openUnsealShares(dir)).toEqual(SHARES);

    for (const name of [
      STATE_FILES.operatorSecretKey,
      STATE_FILES.operatorPublicKey,
      STATE_FILES.unsealShares,
    ]) {
      expect(mode(dir.file(name))).toBe(0o600);
    }
    for (const file of walk(dir.path)) {
      const bytes = readFileSync(dir.file(file));
      for (const share of SHARES) {
        expect(bytes.includes(share)).toBe(false);
        expect(bytes.includes(Buffer.from(share, "base64"))).toBe(false);
      }
    }
    // Sealing is randomized: the same shares never give the same file twice.
    const first = dir.readText(STATE_FILES.unsealShares);
    await sealUnsealShares(dir, SHARES);
    expect(dir.readText(STATE_FILES.unsealShares)).not.toBe(first);
  });

  it("cannot be opened with another operator key", async () => {
    const dir = StateDir.create(join(tempRoot(), "other"));
    await sealUnsealShares(dir, SHARES);
    const stranger = StateDir.create(join(tempRoot(), "stranger"));
    await sealUnsealShares(stranger, ["x"]);
    dir.write(STATE_FILES.operatorSecretKey, stranger.read(STATE_FILES.operatorSecretKey));
    dir.remove(STATE_FILES.operatorPublicKey);
    await expect(openUnsealShares(dir)).rejects.toThrow(/cannot be opened/);
  });

  it("notices an operator.pub that does not match operator.key", async () => {
    const dir = StateDir.create(join(tempRoot(), "mismatch"));
    await sealUnsealShares(dir, SHARES);
    const stranger = StateDir.create(join(tempRoot(), "stranger2"));
    await sealUnsealShares(stranger, ["x"]);
    dir.write(STATE_FILES.operatorPublicKey, stranger.read(STATE_FILES.operatorPublicKey));
    await expect(readOperatorKeyPair(dir)).rejects.toThrow(/does not belong to/);
  });
});

describe("state dir PKI", () => {
  it("creates the CA, server certificate and identities once, and keeps them on the next run", async () => {
    const dir = StateDir.create(join(tempRoot(), "pki"));
    await ensureStatePki(dir, { services: ["nova", "neutron"], hosts: ["127.0.0.1"] });
    const files = walk(dir.path).sort();
    expect(files).toEqual(
      [
        "ca.key",
        "ca.pem",
        "identities/neutron.key",
        "identities/neutron.pem",
        "identities/nova.key",
        "identities/nova.pem",
        "identities/operator.key",
        "identities/operator.pem",
        "server.key",
        "server.pem",
      ].sort(),
    );
    for (const file of files) expect(mode(dir.file(file))).toBe(0o600);
    const before = dir.readText(identityFiles({ kind: "service", service: "nova" }).cert);
    const server = dir.readText(STATE_FILES.serverCert);
    await ensureStatePki(dir, { services: ["nova", "neutron", "glance"], hosts: ["127.0.0.1"] });
    expect(dir.readText(identityFiles({ kind: "service", service: "nova" }).cert)).toBe(before);
    expect(dir.readText(STATE_FILES.serverCert)).toBe(server);
    expect(dir.has("identities/glance.pem")).toBe(true);
    // A new listen host needs a new server certificate.
    await ensureStatePki(dir, { services: ["nova"], hosts: ["broker.example"] });
    expect(dir.readText(STATE_FILES.serverCert)).not.toBe(server);
  });
});

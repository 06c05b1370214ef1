import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/lib/paths.js";
import { startTemporaryVault, type TemporaryVault } from "../../src/vault/temporary-vault.js";
import { startVaultServer } from "../helpers/vault-server-process.js";

const SHIM = join(PACKAGE_ROOT, "test", "fixtures", "vault-shim", "vault");
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "strongroom-lifecycle-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const isAlive = (pid: number | undefined) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** What every kind of temporary Vault must give: KV v2 at secret/, AppRole, a working client. */
async function expectReady(vault: TemporaryVault) {
  const mounts = await vault.client.mounts();
  expect(mounts.data["secret/"]).toMatchObject({ type: "kv", options: { version: "2" } });
  const auths = await vault.client.auths();
  expect(auths.data["approle/"]).toMatchObject({ type: "approle" });
  await vault.client.write("secret/data/lifecycle/probe", { data: { value: "probe" } });
  const read = await vault.client.read("secret/data/lifecycle/probe");
  expect(read.data.data).toEqual({ value: "probe" });
}

describe("temporary Vault lifecycle", () => {
  it("embedded: starts a child server, initializes, unseals, sets up, stops; a restart unseals with the kept keys", async () => {
    const stateDir = tempDir();
    const steps: string[] = [];
    const vault = await startTemporaryVault({
      mode: "embedded",
      stateDir,
      onProgress: (s) => steps.push(s),
    });
    expect(vault.kind).toBe("embedded");
    expect(vault.init?.keys).toHaveLength(1);
    expect(steps).toEqual(expect.arrayContaining(["initializing", "unsealing"]));
    await expectReady(vault);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);

    const status = await vault.client.status();
    expect(status).toMatchObject({ initialized: true, sealed: false, storage_type: "file" });
    await vault.stop();
    await expect(fetch(`${vault.addr}/v1/sys/health`)).rejects.toThrow();

    const again = await startTemporaryVault({
      mode: "embedded",
      stateDir,
      unsealKeys: vault.init!.keys,
      token: vault.init!.rootToken,
    });
    expect(again.init).toBeUndefined();
    const read = await again.client.read("secret/data/lifecycle/probe");
    expect(read.data.data).toEqual({ value: "probe" });
    await again.stop();
  });

  it("embedded: a restart keeps the port it is given; when another process holds it, it starts on a free one and says so", async () => {
    const stateDir = tempDir();
    const first = await startTemporaryVault({ mode: "embedded", stateDir });
    const port = Number(new URL(first.addr).port);
    const keys = { unsealKeys: first.init!.keys, token: first.init!.rootToken };
    await first.stop();

    const same = await startTemporaryVault({ mode: "embedded", stateDir, port, ...keys });
    expect(same.addr).toBe(first.addr);
    await same.stop();

    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    try {
      const steps: string[] = [];
      const moved = await startTemporaryVault({
        mode: "embedded",
        stateDir,
        port,
        ...keys,
        onProgress: (s) => steps.push(s),
      });
      expect(Number(new URL(moved.addr).port)).not.toBe(port);
      expect(steps).toContain(`port ${port} was taken: starting the Vault on another one`);
      expect((await moved.client.status()).sealed).toBe(false);
      await moved.stop();
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it("embedded: refuses to go on when an initialized store is sealed and no keys are given", async () => {
    const stateDir = tempDir();
    const vault = await startTemporaryVault({ mode: "embedded", stateDir });
    await vault.stop();
    await expect(startTemporaryVault({ mode: "embedded", stateDir })).rejects.toThrow(
      /sealed and no unseal keys/,
    );
  });

  it("binary: drives a `vault server -config=FILE` binary (the fixture shim) with a generated raft config", async () => {
    const stateDir = tempDir();
    const vault = await startTemporaryVault({
      mode: "binary",
      vaultBin: SHIM,
      stateDir,
      secretShares: 3,
      secretThreshold: 2,
    });
    expect(vault.kind).toBe("binary");
    expect(vault.init?.keys).toHaveLength(3);
    await expectReady(vault);
    expect((await vault.client.status()).storage_type).toBe("raft");
    expect(statSync(join(stateDir, "vault-server.hcl")).mode & 0o777).toBe(0o600);
    await vault.stop();
    await expect(fetch(`${vault.addr}/v1/sys/health`)).rejects.toThrow();
  });

  it("binary: a binary that cannot start is reported with its last output line", async () => {
    await expect(
      startTemporaryVault({
        mode: "binary",
        vaultBin: "/bin/false",
        stateDir: tempDir(),
        startTimeoutMs: 5_000,
      }),
    ).rejects.toThrow(/exited during start-up/);
  });

  it("external: sets up an existing Vault through VAULT_ADDR/VAULT_TOKEN and leaves it running", async () => {
    const server = await startVaultServer({ mode: "dev" });
    try {
      await fetch(`${server.addr}/v1/sys/mounts/secret`, {
        method: "DELETE",
        headers: { "x-vault-token": server.rootToken! },
      });
      const vault = await startTemporaryVault({
        mode: "external",
        stateDir: tempDir(),
        externalAddr: server.addr,
        externalToken: server.rootToken,
      });
      expect(vault.kind).toBe("external");
      expect(vault.init).toBeUndefined();
      await expectReady(vault);
      await vault.stop();
      expect(isAlive(server.process.pid)).toBe(true);
      const health = await fetch(`${server.addr}/v1/sys/health`);
      expect(health.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it("external: a KV v1 mount at the KV path is refused rather than silently used", async () => {
    const server = await startVaultServer({ mode: "dev" });
    try {
      const headers = { "x-vault-token": server.rootToken! };
      await fetch(`${server.addr}/v1/sys/mounts/kv1`, {
        method: "POST",
        headers,
        body: JSON.stringify({ type: "kv" }),
      });
      await expect(
        startTemporaryVault({
          mode: "external",
          stateDir: tempDir(),
          externalAddr: server.addr,
          externalToken: server.rootToken,
          kvMount: "kv1",
        }),
      ).rejects.toThrow(/not KV version 2/);
    } finally {
      await server.stop();
    }
  });
});

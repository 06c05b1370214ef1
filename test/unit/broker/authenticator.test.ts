import type { PeerCertificate } from "node:tls";
import { describe, expect, it } from "vitest";
import { createAuthenticator, TOKEN_CACHE_MS } from "../../../src/broker/authenticator.js";
import { serviceRoleName } from "../../../src/vault/kv-layout.js";

const OPERATOR = "hvs.operator-token-for-tests-only";

/** A fake `auth/token/lookup`: known tokens answer data, others 403 as Vault does. */
function fakeVault(
  tokens: Record<string, { path: string; meta?: Record<string, string>; ttl?: number }>,
) {
  const calls: string[] = [];
  return {
    calls,
    vault: {
      async write(path: string, body: { token: string }) {
        calls.push(path);
        const data = tokens[body.token];
        if (!data) throw Object.assign(new Error("Status 403"), { response: { statusCode: 403 } });
        return { data };
      },
    },
  };
}

const cert = (subject: Record<string, string | string[]>) =>
  ({ subject }) as unknown as PeerCertificate;

describe("authenticator", () => {
  /** What Vault's lookup answers for a token of a role whose secret-id came from service-kit. */
  const approle = (deployment: string, service: string, ttl = 3600) => ({
    path: "auth/approle/login",
    meta: { role_name: serviceRoleName(deployment, service), deployment, service },
    ttl,
  });

  it("maps certificates by CN and OU, for services of the manifest only", () => {
    const auth = createAuthenticator({
      deployment: "overcloud",
      services: ["nova"],
      operatorToken: OPERATOR,
      vault: fakeVault({}).vault,
    });
    expect(auth.fromCertificate(cert({ CN: "nova", OU: "strongroom-service" }))).toEqual({
      kind: "service",
      service: "nova",
    });
    expect(auth.fromCertificate(cert({ CN: "operator", OU: "strongroom-operator" }))).toEqual({
      kind: "operator",
    });
    expect(auth.fromCertificate(cert({ CN: "glance", OU: "strongroom-service" }))).toBeUndefined();
    expect(auth.fromCertificate(cert({ CN: "nova", OU: "other" }))).toBeUndefined();
  });

  it("knows the operator token without asking Vault, and AppRole tokens of this deployment's roles", async () => {
    const { vault, calls } = fakeVault({
      nova: approle("overcloud", "nova"),
      otherDeployment: approle("edge", "nova"),
      unknownService: approle("overcloud", "glance"),
      notAppRole: { path: "auth/token/create", meta: approle("overcloud", "nova").meta },
    });
    const auth = createAuthenticator({
      deployment: "overcloud",
      services: ["nova"],
      operatorToken: OPERATOR,
      vault,
    });
    expect(await auth.fromToken(OPERATOR)).toEqual({ kind: "operator" });
    expect(calls).toEqual([]);
    expect(await auth.fromToken("nova")).toEqual({ kind: "service", service: "nova" });
    expect(await auth.fromToken("otherDeployment")).toBeUndefined();
    expect(await auth.fromToken("unknownService")).toBeUndefined();
    expect(await auth.fromToken("notAppRole")).toBeUndefined();
    expect(await auth.fromToken("garbage")).toBeUndefined();
  });

  it("takes a token for a service only when its secret-id names this deployment and that service", async () => {
    const role = serviceRoleName("site-edge", "nova");
    const { vault } = fakeVault({
      good: approle("site-edge", "nova"),
      // A role spelled like ours whose secret-id another deployment minted.
      foreign: {
        path: "auth/approle/login",
        meta: { role_name: role, deployment: "site", service: "edge-nova" },
      },
      // A secret-id minted without strongroom's metadata (an older kit, or by hand).
      bare: { path: "auth/approle/login", meta: { role_name: role } },
    });
    const auth = createAuthenticator({
      deployment: "site-edge",
      services: ["nova"],
      operatorToken: OPERATOR,
      vault,
    });
    expect(await auth.fromToken("good")).toEqual({ kind: "service", service: "nova" });
    expect(await auth.fromToken("foreign")).toBeUndefined();
    expect(await auth.fromToken("bare")).toBeUndefined();
  });

  it("caches answers for 30 s at most, and never past the token's TTL", async () => {
    let now = 1_000_000;
    const tokens = { nova: approle("overcloud", "nova"), short: approle("overcloud", "nova", 5) };
    const { vault, calls } = fakeVault(tokens);
    const auth = createAuthenticator({
      deployment: "overcloud",
      services: ["nova"],
      operatorToken: OPERATOR,
      vault,
      now: () => now,
    });
    const first = auth.fromToken("nova");
    expect(first).toBeInstanceOf(Promise); // asks Vault
    await first;
    // What it knows it answers without a promise: the operator token and a cached answer.
    expect(auth.fromToken("nova")).toEqual({ kind: "service", service: "nova" });
    expect(auth.fromToken(OPERATOR)).toEqual({ kind: "operator" });
    expect(calls).toHaveLength(1);
    now += TOKEN_CACHE_MS + 1;
    delete (tokens as Record<string, unknown>).nova; // revoked meanwhile
    expect(await auth.fromToken("nova")).toBeUndefined();
    expect(calls).toHaveLength(2);

    await auth.fromToken("short");
    now += 6_000;
    await auth.fromToken("short");
    expect(calls).toHaveLength(4);
  });

  /** The overcloud's authenticator over a Vault that knows nova's AppRole token "nova". */
  const novaAuthenticator = () => {
    const { vault, calls } = fakeVault({ nova: approle("overcloud", "nova") });
    const auth = createAuthenticator({
      deployment: "overcloud",
      services: ["nova"],
      operatorToken: OPERATOR,
      vault,
    });
    return { auth, calls };
  };

  it("keeps valid answers cached through a flood of made-up tokens", async () => {
    const { auth, calls } = novaAuthenticator();
    await auth.fromToken("nova");
    for (let i = 0; i < 12_000; i++) await auth.fromToken(`made-up-${i}`);
    const before = calls.length;
    expect(auth.fromToken("nova")).toEqual({ kind: "service", service: "nova" });
    expect(calls).toHaveLength(before);
  });

  it("answers only from what it knows when told not to look up", async () => {
    const { auth, calls } = novaAuthenticator();
    expect(auth.fromToken("nova", { lookup: false })).toBeUndefined();
    expect(auth.fromToken(OPERATOR, { lookup: false })).toEqual({ kind: "operator" });
    expect(calls).toHaveLength(0);
    await auth.fromToken("nova");
    expect(auth.fromToken("nova", { lookup: false })).toEqual({ kind: "service", service: "nova" });
  });

  it("lets Vault outages through as errors instead of treating them as a bad token", async () => {
    const vault = {
      async write() {
        throw Object.assign(new Error("Status 503"), { response: { statusCode: 503 } });
      },
    };
    const auth = createAuthenticator({
      deployment: "overcloud",
      services: ["nova"],
      operatorToken: OPERATOR,
      vault,
    });
    await expect(auth.fromToken("nova")).rejects.toThrow("503");
  });

  it("refuses a revoked kit's certificate (KIT_REVOKED) and the tokens its secret-id logged in, even cached", async () => {
    const denied = new Set<string>();
    let revision = 0;
    const revoked = { has: (serial: string) => denied.has(serial), revision: () => revision };
    const kitToken = {
      ...approle("overcloud", "nova"),
      meta: { ...approle("overcloud", "nova").meta, kit: "abc123" },
    };
    const { vault } = fakeVault({ kitToken });
    const auth = createAuthenticator({
      deployment: "overcloud",
      services: ["nova"],
      operatorToken: OPERATOR,
      vault,
      revoked,
    });
    // Node spells serials in upper case, with leading zeros.
    const kitCert = { subject: { CN: "nova", OU: "strongroom-service" }, serialNumber: "00ABC123" };
    const presented = kitCert as unknown as PeerCertificate;
    expect(auth.fromCertificate(presented)).toEqual({ kind: "service", service: "nova" });
    expect(await auth.fromToken("kitToken")).toEqual({ kind: "service", service: "nova" });
    expect(auth.certificateRevision?.()).toBe(0);

    denied.add("abc123");
    revision += 1;
    expect(auth.certificateRevision?.()).toBe(1);
    expect(() => auth.fromCertificate(presented)).toThrow(
      expect.objectContaining({ code: "STRONGROOM_ERR_KIT_REVOKED" }),
    );
    expect(await auth.fromToken("kitToken")).toBeUndefined();
    const other = { ...kitCert, serialNumber: "0F" } as unknown as PeerCertificate;
    expect(auth.fromCertificate(other)).toEqual({ kind: "service", service: "nova" });
  });
});

import { createPrivateKey, createPublicKey } from "node:crypto";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { TRIPLEO_PASSWORD_PARAMETER_NAMES } from "../../../src/config/tripleo-parameters.js";
import {
  ALPHANUMERIC,
  alphanumeric,
  cephxKey,
  createGenerator,
  generatorFor,
  sshKeypair,
} from "../../../src/seed/generators.js";

const ALNUM = /^[0-9A-Za-z]+$/;
const URLSAFE_B64 = /^[A-Za-z0-9_-]{43}=$/;
const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const generate = (name: string) => {
  const generator = generatorFor(name);
  if (!generator) throw new Error(`no generator for ${name}`);
  return generator();
};

/** Reads one RFC 4251 `string` from an OpenSSH wire blob. */
function readSshString(blob: Buffer, offset: number): [Buffer, number] {
  const length = blob.readUInt32BE(offset);
  return [blob.subarray(offset + 4, offset + 4 + length), offset + 4 + length];
}

/** An mpint as base64url without leading zero bytes, the form JWK uses. */
const mpintToJwk = (mpint: Buffer) => {
  let start = 0;
  while (mpint[start] === 0) start++;
  return mpint.subarray(start).toString("base64url");
};

describe("TripleO generators", () => {
  it("has one for each of the 52 parameters and none for other names", () => {
    expect(TRIPLEO_PASSWORD_PARAMETER_NAMES).toHaveLength(52);
    for (const name of TRIPLEO_PASSWORD_PARAMETER_NAMES) {
      if (name !== "MigrationSshKey") expect(generate(name), name).toBeTruthy();
    }
    expect(generatorFor("CustomPassword")).toBeUndefined();
    expect(generatorFor("AdminToken")).toBeUndefined();
  });

  it.each([
    ["AdminPassword", 25],
    ["NovaPassword", 25],
    ["MysqlRootPassword", 10],
    ["HorizonSecret", 10],
    ["PcsdPassword", 16],
    ["RabbitCookie", 20],
    ["HeatAuthEncryptionKey", 32],
    ["OctaviaServerCertsKeyPassphrase", 32],
    ["PacemakerRemoteAuthkey", 4096],
    ["SnmpdReadonlyUserPassword", 24],
  ])("%s is %i alphanumeric characters", (name, length) => {
    const value = generate(name);
    expect(value).toHaveLength(length);
    expect(value).toMatch(ALNUM);
  });

  test.prop([fc.integer({ min: 1, max: 300 })])(
    "alphanumeric(n) has n characters from the alphabet",
    (n) => {
      const value = alphanumeric(n);
      expect(value).toHaveLength(n);
      expect(value).toMatch(ALNUM);
    },
  );

  it("picks alphanumeric characters uniformly", () => {
    const perChar = 500;
    const counts = new Map<string, number>();
    for (const c of alphanumeric(ALPHANUMERIC.length * perChar))
      counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // Chi-square with 61 degrees of freedom: mean 61, sd 11; 150 is beyond 8 sd.
    let chiSquare = 0;
    for (const count of counts.values()) chiSquare += (count - perChar) ** 2 / perChar;
    expect(chiSquare).toBeLessThan(150);
  });

  it("makes CephX keys in ceph-deploy's format", () => {
    const before = Math.floor(Date.now() / 1000);
    for (const name of ["CephClientKey", "CephManilaClientKey", "CephRgwKey"]) {
      const key = generate(name) as string;
      expect(key).toHaveLength(40);
      const bytes = Buffer.from(key, "base64");
      expect(bytes).toHaveLength(28);
      expect(bytes.readInt16LE(0)).toBe(1);
      expect(bytes.readInt32LE(2)).toBeGreaterThanOrEqual(before);
      expect(bytes.readInt32LE(2)).toBeLessThanOrEqual(before + 5);
      expect(bytes.readInt32LE(6)).toBe(0);
      expect(bytes.readInt16LE(10)).toBe(16);
    }
    expect(Buffer.from(cephxKey(1_700_000_000_999), "base64").readInt32LE(2)).toBe(1_700_000_000);
  });

  it("makes a uuid4 FSID", () => {
    expect(generate("CephClusterFSID")).toMatch(UUID4);
  });

  it.each(["KeystoneCredential0", "KeystoneCredential1", "BarbicanSimpleCryptoKek"])(
    "%s is a Fernet key: url-safe base64 of 32 bytes",
    (name) => {
      const key = generate(name) as string;
      expect(key).toMatch(URLSAFE_B64);
      expect(Buffer.from(key, "base64url")).toHaveLength(32);
    },
  );

  it("makes KeystoneFernetKeys a map of two key files", () => {
    const keys = generate("KeystoneFernetKeys") as Record<string, { content: string }>;
    expect(Object.keys(keys)).toEqual([
      "/etc/keystone/fernet-keys/0",
      "/etc/keystone/fernet-keys/1",
    ]);
    for (const { content } of Object.values(keys)) {
      expect(content).toMatch(URLSAFE_B64);
      expect(Buffer.from(content, "base64url")).toHaveLength(32);
    }
  });

  it("makes DesignateRndcKey a base64 HMAC-SHA256 digest", () => {
    const key = generate("DesignateRndcKey") as string;
    expect(key).toHaveLength(44);
    expect(Buffer.from(key, "base64")).toHaveLength(32);
  });

  it("makes MigrationSshKey an RSA 2048 pair whose OpenSSH public key matches", () => {
    const pair = generate("MigrationSshKey") as { private_key: string; public_key: string };
    expect(Object.keys(pair).sort()).toEqual(["private_key", "public_key"]);
    expect(pair.private_key).toMatch(
      /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/,
    );
    const privateKey = createPrivateKey(pair.private_key);
    expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);

    const [type, base64, ...comment] = pair.public_key.split(" ");
    expect(type).toBe("ssh-rsa");
    expect(base64).toMatch(/^AAAAB3NzaC1yc2E/);
    expect(comment.join(" ")).toBe("Generated by TripleO");

    const blob = Buffer.from(base64!, "base64");
    const [keyType, afterType] = readSshString(blob, 0);
    const [e, afterE] = readSshString(blob, afterType);
    const [n, end] = readSshString(blob, afterE);
    expect(keyType.toString()).toBe("ssh-rsa");
    expect(end).toBe(blob.length);
    // mpints are positive: a set high bit gets a leading zero byte.
    expect(n[0]).toBe(0);
    expect(n).toHaveLength(257);
    const jwk = createPublicKey(privateKey).export({ format: "jwk" });
    expect(mpintToJwk(n)).toBe(jwk.n);
    expect(mpintToJwk(e)).toBe(jwk.e);
  });

  it("encodes a custom comment, or none", () => {
    const pair = sshKeypair(2048, "") as { public_key: string };
    expect(pair.public_key.split(" ")).toHaveLength(2);
  });
});

describe("manifest generator kinds", () => {
  it("follows the stanza", () => {
    expect(createGenerator({ kind: "alphanumeric", length: 32 })!()).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(createGenerator({ kind: "uuid4" })!()).toMatch(UUID4);
    expect(createGenerator({ kind: "fernet" })!()).toMatch(URLSAFE_B64);
    expect(createGenerator({ kind: "random-bytes", bytes: 16, encoding: "hex" })!()).toMatch(
      /^[0-9a-f]{32}$/,
    );
    expect(
      Buffer.from(createGenerator({ kind: "random-bytes", bytes: 20 })!() as string, "base64"),
    ).toHaveLength(20);
    expect(
      Object.keys(createGenerator({ kind: "fernet-keys", count: 3, directory: "/k" })!() as object),
    ).toEqual(["/k/0", "/k/1", "/k/2"]);
    expect(createGenerator({ kind: "none" })).toBeUndefined();
  });

  it("never repeats a value", () => {
    const values = new Set(Array.from({ length: 1000 }, () => alphanumeric(25)));
    expect(values.size).toBe(1000);
  });
});

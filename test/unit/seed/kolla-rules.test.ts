/**
 * kolla-genpwd's rules (kolla_ansible/cmd/genpwd.py), as strongroom generates them: property tests
 * on each generator, then every empty key of kolla's real template generated through the seed
 * path and checked against the rule kolla applies to that key.
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  KOLLA_PASSWORD_KEYS,
  KOLLA_SSH_KEYS,
  type KollaPasswordKey,
  kollaGeneratorSpec,
} from "../../../src/config/kolla-passwords.js";
import type { SecretValue } from "../../../src/config/secret-value.js";
import {
  fernetKey,
  generateValue,
  hmacMd5Key,
  opensshPublicKey,
  randomSalt,
  SALT_CHARS,
  sshKeypairAsync,
} from "../../../src/seed/generators.js";
import { parseSeedInput } from "../../../src/seed/inputs.js";
import { KOLLA_TEMPLATE } from "../../helpers/kolla.js";

const PASSWORD = /^[A-Za-z0-9]{40}$/;
const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const HEX32 = /^[0-9a-f]{32}$/;
/** cryptography's Fernet.generate_key(): urlsafe base64 of 32 bytes, padded. */
const FERNET = /^[A-Za-z0-9_-]{43}=$/;
const SALT22 = /^[A-Za-z0-9./]{22}$/;

/** Checks an RSA pair as kolla makes it: 4096 bits, PKCS#8 PEM, the OpenSSH form of its key. */
function checkSshPair(value: SecretValue): void {
  const pair = value as { private_key: string; public_key: string };
  expect(Object.keys(pair).sort()).toEqual(["private_key", "public_key"]);
  expect(pair.private_key).toMatch(
    /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/,
  );
  const privateKey = createPrivateKey(pair.private_key);
  expect(privateKey.asymmetricKeyType).toBe("rsa");
  expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(4096);
  // The public key is the private key's, in OpenSSH form without a comment (as cryptography writes).
  expect(pair.public_key).toBe(opensshPublicKey(createPublicKey(privateKey)));
  expect(pair.public_key).toMatch(/^ssh-rsa AAAAB3NzaC1yc2E[A-Za-z0-9+/]+=*$/);
}

/** The rule kolla-genpwd applies to `key`, as a check of a generated value. */
function checkKollaRule(key: KollaPasswordKey, value: SecretValue): void {
  if (KOLLA_SSH_KEYS.has(key)) {
    checkSshPair(value);
    return;
  }
  const kind = kollaGeneratorSpec(key)!.kind;
  const expected = {
    alphanumeric: PASSWORD,
    uuid4: UUID4,
    "hmac-md5": HEX32,
    fernet: FERNET,
    "random-salt": SALT22,
  }[kind as string];
  expect(expected, `${key}: rule ${kind}`).toBeDefined();
  expect(value, key).toMatch(expected!);
}

describe("kolla-genpwd's generators (property tests)", () => {
  test.prop(
    [
      fc.constantFrom(
        ...KOLLA_PASSWORD_KEYS.filter(
          (k) => !KOLLA_SSH_KEYS.has(k) && k !== "docker_registry_password",
        ),
      ),
    ],
    { numRuns: 300 },
  )(
    "every non-ssh key's generated value follows its rule (40 alphanumerics, UUID4, HMAC-MD5 hex, Fernet, salt)",
    async (key) => {
      checkKollaRule(key, (await generateValue(kollaGeneratorSpec(key)!))!);
    },
  );

  test.prop([fc.integer({ min: 1, max: 64 })])(
    "random_salt(n): n characters of Ansible's salt alphabet [A-Za-z0-9./]",
    (length) => {
      const salt = randomSalt(length);
      expect(salt).toHaveLength(length);
      for (const c of salt) expect(SALT_CHARS).toContain(c);
    },
  );

  test.prop([fc.constant(null)], { numRuns: 200 })(
    "HMAC-MD5 keys are 32 lower-case hex digits, Fernet keys 32 bytes of padded urlsafe base64",
    () => {
      expect(hmacMd5Key()).toMatch(HEX32);
      const key = fernetKey();
      expect(key).toMatch(FERNET);
      expect(Buffer.from(key, "base64url")).toHaveLength(32);
    },
  );

  it("uses every salt character (not a subset): 22-char salts, 2000 of them", () => {
    const seen = new Set([...Array.from({ length: 2000 }, () => randomSalt(22)).join("")]);
    expect([...seen].sort().join("")).toBe([...SALT_CHARS].sort().join(""));
  });

  test.prop([fc.constant(null)], { numRuns: 2 })(
    "RSA-4096 pairs: PKCS#8 private key, the matching OpenSSH public key",
    async () => checkSshPair(await sshKeypairAsync(4096, "")),
    60_000,
  );
});

describe("kolla's template, generated through the seed path", () => {
  it("has kolla's 106 keys, each with a rule; 7 ssh key maps; docker_registry_password left blank", () => {
    const input = parseSeedInput(readFileSync(KOLLA_TEMPLATE, "utf8"), "passwords.yml");
    expect(input.format).toBe("kolla");
    expect(input.size).toBe(0);
    expect([...input.empty.keys(), "docker_registry_password"].sort()).toEqual(
      [...KOLLA_PASSWORD_KEYS].sort(),
    );
    expect(KOLLA_PASSWORD_KEYS).toHaveLength(106);
    expect(KOLLA_SSH_KEYS.size).toBe(7);
    expect(input.notes).toEqual(["docker_registry_password left blank, as kolla-genpwd does"]);
  });

  it("every generated value follows kolla-genpwd's rule for its key; the RSA pairs leave the event loop free", async () => {
    const input = parseSeedInput(readFileSync(KOLLA_TEMPLATE, "utf8"), "passwords.yml");
    // Generated off the main thread (and so several at once): timers keep firing meanwhile.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const values = await Promise.all(
      [...input.empty].map(async ([key, spec]) => [key, await generateValue(spec)] as const),
    ).finally(() => clearInterval(timer));
    for (const [key, value] of values) checkKollaRule(key as KollaPasswordKey, value!);
    expect(ticks, "timer ticks while 7 RSA-4096 pairs were generated").toBeGreaterThan(5);
  }, 120_000);
});

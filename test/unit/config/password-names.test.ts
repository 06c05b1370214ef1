/**
 * The name map TripleO ⇄ kolla ⇄ RHOSO (src/config/password-names.json): it covers every key of
 * RHOSO's osp-secret, each mapped to a TripleO parameter tripleo-parameters.ts knows or saying why
 * there is none, and every kolla name in it is a key of kolla's real template.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  loadPasswordNames,
  PASSWORD_NAMES,
  RHOSO_KEYS,
  TRIPLEO_OF_KOLLA,
} from "../../../src/config/password-names.js";
import { isTripleoParameter } from "../../../src/config/tripleo-parameters.js";
import { KOLLA_TEMPLATE } from "../../helpers/kolla.js";

/** openstack-operator's osp-secret keys (reference/kolla/README.md), in its order. */
const OSP_SECRET_KEYS = [
  "AdminPassword",
  "AodhPassword",
  "BarbicanPassword",
  "BarbicanSimpleCryptoKEK",
  "CeilometerPassword",
  "CloudKittyPassword",
  "DbRootPassword",
  "DatabasePassword",
  "DesignatePassword",
  "PlacementPassword",
  "GlancePassword",
  "NeutronPassword",
  "CinderPassword",
  "IronicPassword",
  "IronicInspectorPassword",
  "KeystoneOIDCClientSecret",
  "KeystoneOIDCCryptoPassphrase",
  "OctaviaPassword",
  "OctaviaHeartbeatKey",
  "NovaPassword",
  "ManilaPassword",
  "MetadataSecret",
  "HeatPassword",
  "HeatAuthEncryptionKey",
  "HeatStackDomainAdminPassword",
  "SwiftPassword",
  "WatcherPassword",
];

describe("the TripleO ⇄ kolla ⇄ RHOSO name map", () => {
  it("lists every osp-secret key once, in osp-secret's order", () => {
    expect(RHOSO_KEYS.map((e) => e.rhoso)).toEqual(OSP_SECRET_KEYS);
  });

  it("maps each osp-secret key to a TripleO parameter strongroom knows, or says why there is none", () => {
    for (const entry of RHOSO_KEYS) {
      if (entry.tripleo) expect(isTripleoParameter(entry.tripleo), entry.rhoso).toBe(true);
      else expect(entry.why, `${entry.rhoso} has no TripleO name and no why`).toBeTruthy();
    }
    const without = RHOSO_KEYS.filter((e) => !e.tripleo).map((e) => e.rhoso);
    expect(without).toEqual([
      "CloudKittyPassword",
      "DatabasePassword",
      "KeystoneOIDCClientSecret",
      "KeystoneOIDCCryptoPassphrase",
      "WatcherPassword",
    ]);
  });

  it("names only kolla keys of kolla's template, each once, and only known TripleO parameters", () => {
    const template = new Set(Object.keys(parse(readFileSync(KOLLA_TEMPLATE, "utf8")) as object));
    const kolla = PASSWORD_NAMES.flatMap((e) => e.kolla);
    for (const key of kolla) expect(template, key).toContain(key);
    expect(new Set(kolla).size).toBe(kolla.length);
    for (const e of PASSWORD_NAMES) if (e.tripleo) expect(isTripleoParameter(e.tripleo)).toBe(true);
    expect(TRIPLEO_OF_KOLLA.get("database_password")).toBe("MysqlRootPassword");
    expect(TRIPLEO_OF_KOLLA.get("nova_api_database_password")).toBe("NovaPassword");
    expect(TRIPLEO_OF_KOLLA.get("nova_ssh_key")).toBe("MigrationSshKey");
  });

  it("refuses a map with an unknown TripleO name, an unknown kolla key, a twice-mapped key or no why", () => {
    const load = (names: unknown[]) => () => loadPasswordNames({ names });
    expect(load([{ tripleo: "NovaPasword" }])).toThrow(
      /NovaPasword is not a TripleO password parameter/,
    );
    expect(load([{ tripleo: "NovaPassword", kolla: ["nova_pasword"] }])).toThrow(
      /nova_pasword is not a kolla passwords.yml key/,
    );
    expect(
      load([
        { tripleo: "NovaPassword", rhoso: "A" },
        { tripleo: "AodhPassword", rhoso: "A" },
      ]),
    ).toThrow(/RHOSO key A twice/);
    expect(load([{ rhoso: "A" }])).toThrow(/no tripleo name and no "why"/);
    // A kolla store's osp-secret takes the first: RHOSO's service password is the Keystone one.
    expect(
      load([
        {
          tripleo: "NovaPassword",
          kolla: ["nova_database_password", "nova_keystone_password"],
          rhoso: "NovaPassword",
        },
      ]),
    ).toThrow(/NovaPassword's first kolla key must be a \*_keystone_password/);
    expect(load([{ tripleo: "NovaPassword", extra: 1 }])).toThrow(/password-names.json/);
  });
});

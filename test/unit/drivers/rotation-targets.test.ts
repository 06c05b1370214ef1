import { describe, expect, it } from "vitest";
import {
  chainAccepts,
  desiredChain,
  identifiedVia,
  nativeHash,
  parseChain,
} from "../../../drivers/rotation-targets/mariadb/auth-chain.js";
import { alternatingUser } from "../../../drivers/rotation-targets/rabbitmq/index.js";

const native = (password: string) => ({
  plugin: "mysql_native_password",
  authenticationString: nativeHash(password),
});
const socket = { plugin: "unix_socket", authenticationString: "" };

describe("MariaDB auth chains", () => {
  it("hashes like PASSWORD() (mysql_native_password)", () => {
    // SELECT PASSWORD('a') on MariaDB 10.11
    expect(nativeHash("a")).toBe("*667F407DE7C6AD07358FA38DAED7828A72014B4E");
    expect(nativeHash("")).toBe("");
  });

  it("reads global_priv JSON: top-level method, auth_or order, `{}` placeholders", () => {
    const top = { plugin: "mysql_native_password", authentication_string: nativeHash("x") };
    expect(parseChain(JSON.stringify(top))).toEqual([native("x")]);
    expect(parseChain({ ...top, auth_or: [{ plugin: "unix_socket" }, {}] })).toEqual([
      socket,
      native("x"),
    ]);
    expect(
      parseChain({
        ...top,
        auth_or: [{}, { plugin: "mysql_native_password", authentication_string: nativeHash("y") }],
      }),
    ).toEqual([native("x"), native("y")]);
    // mariadb-install-db's root with normal authentication: no plugin, empty password.
    expect(parseChain({ access: 1 })).toEqual([
      { plugin: "mysql_native_password", authenticationString: "" },
    ]);
  });

  it("replaces password methods and keeps the others on their side", () => {
    expect(desiredChain([socket, native("old")], ["old", "new"])).toEqual([
      socket,
      native("old"),
      native("new"),
    ]);
    expect(desiredChain([native("old"), socket], ["new"])).toEqual([native("new"), socket]);
    expect(desiredChain([{ plugin: "ed25519", authenticationString: "k" }], ["a", "a"])).toEqual([
      native("a"),
    ]);
    expect(chainAccepts([socket, native("a")], "a")).toBe(true);
    expect(chainAccepts([socket], "")).toBe(false);
  });

  it("writes IDENTIFIED VIA with hashes only, refusing odd plugin names", () => {
    const quote = (s: string) => `'${s}'`;
    expect(identifiedVia([socket, native("a")], quote)).toBe(
      `IDENTIFIED VIA unix_socket OR mysql_native_password USING '${nativeHash("a")}'`,
    );
    expect(() => identifiedVia([{ plugin: "x; DROP", authenticationString: "" }], quote)).toThrow(
      /unexpected plugin name/,
    );
  });
});

describe("alternatingUser", () => {
  it("gives version 1 to the first user and alternates", () => {
    const users = ["a", "b"] as const;
    expect([1, 2, 3, 4].map((v) => alternatingUser(users, v))).toEqual(["a", "b", "a", "b"]);
    expect(() => alternatingUser(users, 0)).toThrow(RangeError);
    expect(() => alternatingUser(users, 1.5)).toThrow(RangeError);
  });
});

import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { isInetPton4, isInetPton6 } from "../../../src/config/oslo-net.js";
import { parseOptionValue, parseOsloType } from "../../../src/config/oslo-types.js";
import { StrongroomError } from "../../../src/lib/errors.js";

const ok = (type: Parameters<typeof parseOsloType>[0], raw: string) => parseOsloType(type, raw);
const bad = (type: Parameters<typeof parseOsloType>[0], raw: string) =>
  expect(() => parseOsloType(type, raw)).toThrow();
const where = { service: "nova", group: "database", option: "max_retries" };

describe("integer and port", () => {
  it("parses decimal integers with surrounding whitespace, empty as null", () => {
    expect(ok("integer", " 42 ")).toBe(42);
    expect(ok("integer", "-7")).toBe(-7);
    expect(ok("integer", "+007")).toBe(7);
    expect(ok("integer", "1_000")).toBe(1000);
    expect(ok("integer", "١٢")).toBe(12);
    expect(ok("integer", "")).toBeNull();
    expect(ok("integer", "  \t")).toBeNull();
    expect(ok("integer", "123456789012345678901234567890")).toBe("123456789012345678901234567890");
  });

  it("rejects what Python's int() rejects", () => {
    for (const raw of ["0x10", "1.0", "1e3", "1__0", "_1", "1_", "- 1", "one", "²"])
      bad("integer", raw);
  });

  it("bounds ports to 0..65535", () => {
    expect(ok("port", "0")).toBe(0);
    expect(ok("port", "65535")).toBe(65535);
    expect(ok("port", "")).toBeNull();
    bad("port", "65536");
    bad("port", "-1");
  });

  test.prop([fc.integer()])("round-trips any integer", (n) => {
    expect(ok("integer", String(n))).toBe(n);
  });
});

describe("float", () => {
  it("follows Python's float()", () => {
    expect(ok("float", " 1.5 ")).toBe(1.5);
    expect(ok("float", ".5")).toBe(0.5);
    expect(ok("float", "5.")).toBe(5);
    expect(ok("float", "1e3")).toBe(1000);
    expect(ok("float", "-Infinity")).toBe(Number.NEGATIVE_INFINITY);
    expect(ok("float", "nan")).toBeNaN();
    expect(ok("float", "")).toBeNull();
    for (const raw of ["1..0", "e3", "1_.0", "0x1p3", "one"]) bad("float", raw);
  });

  test.prop([fc.double({ noNaN: true })])("round-trips any double", (n) => {
    // String(-0) is "0"; Python's repr, like oslo's input, keeps the sign.
    expect(ok("float", Object.is(n, -0) ? "-0.0" : String(n))).toBe(n);
  });
});

describe("boolean", () => {
  it("accepts oslo's words in any case, nothing else", () => {
    for (const raw of ["true", "1", "ON", "Yes"]) expect(ok("boolean", raw)).toBe(true);
    for (const raw of ["false", "0", "off", "NO"]) expect(ok("boolean", raw)).toBe(false);
    for (const raw of ["", " true", "y", "2", "enabled"]) bad("boolean", raw);
  });
});

describe("list and dict", () => {
  it("splits lists on commas, dropping trailing commas and stripping items", () => {
    expect(ok("list", "a, b ,c,")).toEqual(["a", "b", "c"]);
    expect(ok("list", "")).toEqual([]);
    expect(ok("list", ",,,")).toEqual([]);
    expect(ok("list", "a,,b")).toEqual(["a", "", "b"]);
    expect(ok("list", 'a,"b,c"')).toEqual(["a", '"b', 'c"']);
  });

  it("splits dict pairs on the first colon", () => {
    expect(ok("dict", "k1:v1, k2 : v:2")).toEqual({ k1: "v1", k2: "v:2" });
    expect(ok("dict", "")).toEqual({});
    expect(ok("dict", "a,b:1")).toEqual({ "a,b": "1" });
    bad("dict", "a:1,a:2");
    bad("dict", ":1");
    bad("dict", "a:1,b");
  });

  test.prop([fc.array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { maxLength: 8 })])(
    "a comma-joined list reads back as its items, whatever the spacing",
    (items) => {
      expect(ok("list", ` ${items.join(" , ")} ,`)).toEqual(items);
    },
  );
});

describe("addresses", () => {
  it("validates IPv4 like inet_pton", () => {
    expect(ok("ip", "192.168.24.2")).toBe("192.168.24.2");
    for (const raw of ["1.2.3", "01.2.3.4", "1.2.3.256", "1.2.3.4 ", "", "1.2.3.4.5"])
      bad("ip", raw);
  });

  it("validates IPv6 like inet_pton", () => {
    for (const raw of [
      "::",
      "::1",
      "fe80::1",
      "1:2:3:4:5:6:7:8",
      "::ffff:1.2.3.4",
      "1::",
      "1:2:3:4:5:6:7::",
    ]) {
      expect(isInetPton6(raw)).toBe(true);
    }
    for (const raw of [
      ":1",
      "1:::2",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "fe80::1%eth0",
      "12345::",
      "1:2:3:4:5:6:7:8::",
      "::1.2.3",
    ]) {
      expect(isInetPton6(raw)).toBe(false);
    }
  });

  test.prop([fc.ipV4()])("accepts every canonical IPv4", (ip) => {
    expect(isInetPton4(ip)).toBe(true);
  });
  test.prop([fc.ipV6()])("accepts every IPv6 fast-check writes", (ip) => {
    expect(isInetPton6(ip)).toBe(true);
  });

  it("validates hostnames with RFC 1123 labels", () => {
    expect(ok("hostname", "controller-0.example.com.")).toBe("controller-0.example.com");
    for (const raw of [
      "-a.com",
      "a-.com",
      "a..com",
      "1.2.3",
      "bad_host",
      "",
      `${"a".repeat(64)}.com`,
    ]) {
      bad("hostname", raw);
    }
    bad("hostname", `${"a.".repeat(127)}ab`);
  });

  it("accepts an IP or a hostname as a host address", () => {
    expect(ok("host_address", "192.168.24.2")).toBe("192.168.24.2");
    expect(ok("host_address", "::1")).toBe("::1");
    expect(ok("host_address", "overcloud.localdomain")).toBe("overcloud.localdomain");
    bad("host_address", "bad_host");
  });

  it("requires a scheme and a host in a URI", () => {
    expect(ok("uri", "http://192.168.24.2:5000")).toBe("http://192.168.24.2:5000");
    expect(ok("uri", "mysql+pymysql://nova:p%40ss@db/nova?x=1")).toBeTruthy();
    expect(ok("uri", "http://[::1]:80/")).toBeTruthy();
    for (const raw of [
      "/just/a/path",
      "http://",
      "http:///x",
      "http://1.2.3.999/",
      "http://h/[x]",
      "http://[fe80::1%eth0]/",
    ]) {
      bad("uri", raw);
    }
  });
});

describe("errors", () => {
  it("name the service, group, option and type, never the value", () => {
    const secret = "s3cr3t-not-a-number";
    try {
      parseOptionValue("integer", secret, where);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(StrongroomError);
      expect((err as StrongroomError).code).toBe("STRONGROOM_ERR_OPTION_TYPE");
      expect((err as Error).message).toContain("nova [database] max_retries");
      expect((err as Error).message).toContain("integer value");
      expect((err as Error).message).not.toContain(secret);
    }
  });

  test.prop([fc.string({ minLength: 6 })])("never quote the value", (raw) => {
    for (const type of [
      "integer",
      "float",
      "port",
      "boolean",
      "dict",
      "ip",
      "hostname",
      "uri",
    ] as const) {
      try {
        parseOptionValue(type, `~${raw}~`, where);
      } catch (err) {
        expect((err as Error).message).not.toContain(`~${raw}~`);
      }
    }
  });

  it("multi_string keeps every occurrence", () => {
    expect(parseOptionValue("multi_string", ["a", " b "], where)).toEqual(["a", " b "]);
    expect(parseOptionValue("string", ["first", "last"], where)).toBe("last");
  });
});

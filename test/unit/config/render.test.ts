import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { iniValues, parseOsloIni } from "../../../src/config/oslo-ini.js";
import {
  iniProblem,
  renderCastellanConfig,
  renderCastellanMapping,
  renderOsloIni,
} from "../../../src/config/render.js";
import { escapeOsloTemplate } from "../../../src/config/template.js";
import { StrongroomError } from "../../../src/lib/errors.js";

/**
 * oslo.config's `_substitute` for a value that must reference no option: `\$` becomes `$$`
 * first, then string.Template turns `$$` into `$` and would substitute `$name` or `${name}`
 * (an error here); any other `$` stays.
 */
function osloSubstitute(value: string): string {
  return value.replaceAll("\\$", "$$$$").replace(/\$(\$|[_a-z{]?)/gi, (_, next: string) => {
    if (next !== "" && next !== "$") throw new Error("oslo would substitute an option here");
    return "$";
  });
}

function readBack(text: string, group: string, option: string): string[] {
  return iniValues(parseOsloIni(text, "nova.conf"), group, option).map((a) =>
    osloSubstitute(a.value),
  );
}

const TRICKY = [
  "pa$$word",
  "$",
  "$$",
  "$foo",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: oslo's template syntax, on purpose.
  "${bar}",
  "100%",
  "user@host:5672",
  "# not a comment",
  "; nor this",
  '"quoted"',
  "'single'",
  '"',
  "  spaces around  ",
  "café ☕ 密码",
  "a = b : c",
  "line one\nline two",
  "",
  "[section]",
  "back\\$lash",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: oslo's template syntax, on purpose.
  "\\\\$$ and \\${x} and \\",
];

describe("the remote_file INI document", () => {
  it("carries tricky values byte for byte through oslo's parser and substitution", () => {
    const text = renderOsloIni("nova", [
      { group: "DEFAULT", options: TRICKY.map((v, i) => ({ option: `opt${i}`, values: [v] })) },
    ]);
    for (const [i, v] of TRICKY.entries())
      expect(readBack(text, "DEFAULT", `opt${i}`)).toEqual([v]);
  });

  it("writes sections per group, keys by dest, and every occurrence of a multi-valued option", () => {
    const text = renderOsloIni("nova", [
      { group: "DEFAULT", options: [{ option: "my-opt", values: ["1"] }] },
      { group: "empty", options: [] },
      { group: "filter:authtoken", options: [{ option: "multi", values: ["a", "b$"] }] },
    ]);
    expect(text).toBe(
      '[DEFAULT]\nmy_opt = "1"\n\n[filter:authtoken]\nmulti = "a"\nmulti = "b$$"\n',
    );
  });

  const line = fc
    .string({ unit: "grapheme", minLength: 1, maxLength: 12 })
    .map((s) => s.replace(/\r|\n/g, ""));
  const deliverable = fc
    .tuple(fc.string({ unit: "grapheme", maxLength: 20 }), fc.array(line, { maxLength: 3 }))
    .map(([first, rest]) =>
      [first.replace(/[\r\n]/g, ""), ...rest.map((l) => l.trim())]
        .filter((l, i) => i === 0 || l !== "")
        .join("\n"),
    )
    .filter((v) => iniProblem(v) === undefined);

  test.prop([deliverable])("round-trips every deliverable value", (value) => {
    const text = renderOsloIni("nova", [
      { group: "database", options: [{ option: "connection", values: [value] }] },
    ]);
    expect(readBack(text, "database", "connection")).toEqual([value]);
  });

  it("refuses what oslo cannot carry, naming the option but not the value", () => {
    const cases = ["secret\r", "secret\n  indented", "secret\n", "secret\n\nmore"];
    for (const value of cases) {
      try {
        renderOsloIni("nova", [
          { group: "database", options: [{ option: "connection", values: [value] }] },
        ]);
        expect.unreachable(value);
      } catch (err) {
        expect(err).toBeInstanceOf(StrongroomError);
        expect((err as StrongroomError).code).toBe("STRONGROOM_ERR_VALUE_UNDELIVERABLE");
        expect((err as Error).message).toContain("nova [database] connection");
        expect((err as Error).message).not.toContain("secret");
      }
    }
  });

  test.prop([fc.string({ unit: fc.constantFrom("$", "\\", "{", "}", "a", "_", " ") })])(
    "escapeOsloTemplate survives oslo's substitution, backslashes included",
    (value) => {
      expect(osloSubstitute(escapeOsloTemplate(value))).toBe(value);
    },
  );

  test.prop([fc.string()])("escapeOsloTemplate survives any string", (value) => {
    expect(osloSubstitute(escapeOsloTemplate(value))).toBe(value);
  });
});

describe("castellan files", () => {
  it("maps options to castellan ids, groups as registered, ids verbatim", () => {
    expect(
      renderCastellanMapping([
        {
          group: "DEFAULT",
          option: "transport_url",
          castellanId: "strongroom/o/rendered/nova/DEFAULT/transport_url",
        },
        { group: "filter:authtoken", option: "auth-url", castellanId: "x/y" },
        { group: "DEFAULT", option: "my_ip", castellanId: "a$b" },
      ]),
    ).toBe(
      "[DEFAULT]\ntransport_url = strongroom/o/rendered/nova/DEFAULT/transport_url\nmy_ip = a$b\n\n[filter:authtoken]\nauth_url = x/y\n",
    );
  });

  it("writes castellan.conf with the AppRole, and the CA only for https", () => {
    const base = { roleId: "role", secretId: "se$cret", kvMount: "secret" };
    const http = renderCastellanConfig({
      ...base,
      vaultUrl: "http://127.0.0.1:8200",
      caFile: "/etc/ca.pem",
    });
    expect(http).toBe(
      '[key_manager]\nbackend = vault\n\n[vault]\nvault_url = "http://127.0.0.1:8200"\napprole_role_id = "role"\napprole_secret_id = "se$$cret"\nkv_mountpoint = "secret"\nkv_version = 2\n',
    );
    const https = renderCastellanConfig({
      ...base,
      vaultUrl: "https://vault:8200",
      caFile: "/etc/ca.pem",
    });
    expect(https).toContain('ssl_ca_crt_file = "/etc/ca.pem"\n');
  });
});

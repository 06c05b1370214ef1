/**
 * What strongroom renders, read by Debian's real oslo.config 9.0.0 and castellan 4.0.0:
 * 1. the remote_file INI document (renderIni), given as a config file;
 * 2. castellan's source: the castellan.conf and mapping strongroom renders, AppRole login,
 *    the rendered records read straight from a live dev server.
 * Passwords with `$`, `$$`, `%`, `@`, `:`, `#`, `;`, quotes, surrounding spaces, non-ASCII
 * and newlines must arrive byte for byte, typed options parsed as oslo parses them.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createCastellanSource } from "../../drivers/config-sources/castellan/index.js";
import { createVaultKeyManager } from "../../drivers/key-managers/vault/index.js";
import {
  createBrokerService,
  type StrongroomBroker,
} from "../../src/broker/create-broker-service.js";
import { type Manifest, parseManifest } from "../../src/config/manifest.js";
import { manifestOptions } from "../../src/config/option-templates.js";
import { createVaultRecordStore } from "../../src/vault/record-store.js";
import { createVaultClient, type VaultClient } from "../../src/vault/vault-client.js";
import { describeWithPython, runPython } from "../helpers/python.js";
import { startVaultServer, type VaultServerHandle } from "../helpers/vault-server-process.js";

const STRINGS: Record<string, string> = {
  Dollar: "pa$word",
  DoubleDollar: "pa$$word",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: oslo's template syntax, on purpose.
  DollarName: "$my_ip, $$my_ip, ${host} and a lone $",
  Percent: "100%sure%2F",
  At: "user@host",
  Colon: "a:b=c: d",
  Hash: "# not a comment",
  Semicolon: "; nor this",
  Quotes: `"double" and 'single'`,
  LoneQuote: '"',
  Spaces: "  leading and trailing  ",
  Tabs: "\tTabbed\t",
  NonAscii: "café ☕ 密码 ẞ ü",
  Newlines: "line one\nline two\nthird: x = y",
  Backslash: "back\\slash\\ and \\n",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: oslo's template syntax, on purpose.
  BackslashDollar: "a\\$b, a\\\\$$b and a\\${c}",
  Everything: ` $$"#;:@%'ü${"`"}{x}\\ $`,
};

const TYPED: Record<string, { type: string; value: string }> = {
  Count: { type: "integer", value: " 42 " },
  Port: { type: "port", value: "8080" },
  Flag: { type: "boolean", value: "Yes" },
  Items: { type: "list", value: "a, b ,c," },
  Pairs: { type: "dict", value: "k1:v1, k2 : v:2" },
  Ip: { type: "ip", value: "::1" },
  Host: { type: "hostname", value: "controller-0.example.com." },
  HostAddr: { type: "host_address", value: "192.168.24.2" },
  Uri: { type: "uri", value: "mysql+pymysql://nova:p%40ss@db/nova?x=1" },
  Ratio: { type: "float", value: "1.5" },
};

const option = (name: string) => name.replace(/[A-Z]/g, (c, i) => (i ? "_" : "") + c.toLowerCase());

const MANIFEST = [
  "deployment: { name: compat }",
  "variables: { host: 192.168.24.2 }",
  "secrets:",
  ...[...Object.keys(STRINGS), ...Object.keys(TYPED)].map((n) => `  ${n}: { generator: none }`),
  "services:",
  "  compat:",
  "    options:",
  "      DEFAULT:",
  ...Object.keys(STRINGS).map((n) => `        ${option(n)}: "{{ secret.${n} }}"`),
  '        connection: "mysql+pymysql://nova:{{ secret.Everything | urlencode }}@{{ var.host }}/nova"',
  "        workers: { type: integer, default: 4 }",
  '        hosts: { type: multi_string, value: ["{{ secret.Dollar }}", "{{ secret.Spaces }}"] }',
  "      typed:",
  ...Object.entries(TYPED).map(
    ([n, t]) => `        ${option(n)}: { type: ${t.type}, value: "{{ secret.${n} }}" }`,
  ),
  "      Mixed_Case:",
  '        password: "{{ secret.Everything }}"',
  "      filter:authtoken:",
  '        password: "{{ secret.NonAscii }}"',
].join("\n");

type Loaded = Record<
  string,
  { value?: unknown; location?: [string, string] | null; error?: string }
>;

let server: VaultServerHandle;
let admin: VaultClient;
let manifest: Manifest;
let broker: StrongroomBroker;
let dir: string;

function spec() {
  return [...manifestOptions(manifest, "compat")].map(({ group, option, spec }) => ({
    group,
    name: option,
    type: spec.type,
  }));
}

async function load(configFile: string): Promise<Loaded> {
  const specFile = join(dir, "spec.json");
  writeFileSync(specFile, JSON.stringify(spec()));
  const result = await runPython(
    "test/compat/oslo_load.py",
    [specFile, "--config-file", configFile],
    {
      timeoutMs: 60_000,
    },
  );
  expect(result.code, result.stderr.split("\n").slice(-15).join("\n")).toBe(0);
  return JSON.parse(result.stdout) as Loaded;
}

/** The broker's own answers, in oslo_load.py's encoding. */
async function brokerAnswers(): Promise<Record<string, unknown>> {
  const answers: Record<string, unknown> = {};
  for (const { group, option } of manifestOptions(manifest, "compat")) {
    const { value } = await broker.lookup("compat", group, option);
    answers[`${group}/${option}`] =
      typeof value === "number" && !Number.isInteger(value) ? { float: String(value) } : value;
  }
  return answers;
}

describeWithPython(
  ["oslo_config", "castellan"],
  "oslo.config reads what strongroom renders",
  () => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "oslo-render-"));
      server = await startVaultServer({ mode: "dev" });
      admin = createVaultClient({ addr: server.addr, token: server.rootToken! });
      manifest = parseManifest(MANIFEST, "compat.yaml");
      const keyManager = createVaultKeyManager({ client: admin, deployment: "compat" });
      broker = createBrokerService({
        manifest,
        keyManager,
        sources: [createCastellanSource({ manifest, keyManager })],
        records: createVaultRecordStore({ client: admin, deployment: "compat" }),
        vaultUrl: server.addr,
        kvMount: "secret",
      });
      const values = {
        ...STRINGS,
        ...Object.fromEntries(Object.entries(TYPED).map(([n, t]) => [n, t.value])),
      };
      const report = await broker.seed({
        text: JSON.stringify(values),
        file: "compat.json",
        generate: false,
        dryRun: false,
      });
      expect(report.written).toBe(Object.keys(values).length);
    });

    afterAll(async () => {
      await server?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("remote_file: the rendered INI reads back byte for byte, typed as oslo types it", async () => {
      const file = join(dir, "compat.conf");
      writeFileSync(file, await broker.renderIni("compat"));
      const loaded = await load(file);
      for (const [name, value] of Object.entries(STRINGS)) {
        expect(loaded[`DEFAULT/${option(name)}`], name).toEqual({
          value,
          location: ["user", file],
        });
      }
      expect(loaded["typed/count"]?.value).toBe(42);
      expect(loaded["typed/flag"]?.value).toBe(true);
      expect(loaded["typed/items"]?.value).toEqual(["a", "b", "c"]);
      expect(loaded["typed/pairs"]?.value).toEqual({ k1: "v1", k2: "v:2" });
      expect(loaded["typed/host"]?.value).toBe("controller-0.example.com");
      expect(loaded["typed/ratio"]?.value).toEqual({ float: "1.5" });
      expect(loaded["DEFAULT/hosts"]?.value).toEqual(["pa$word", "  leading and trailing  "]);
      expect(loaded["Mixed_Case/password"]?.value).toBe(STRINGS["Everything"]);
      expect(loaded["filter:authtoken/password"]?.value).toBe(STRINGS["NonAscii"]);

      const values = Object.fromEntries(
        Object.entries(loaded).map(([k, v]) => [k, v.value ?? v.error]),
      );
      expect(values).toEqual(await brokerAnswers());
    });

    it("castellan: the rendered mapping, config and records read back byte for byte", async () => {
      await admin.enableAuth({ mount_point: "approle", type: "approle" });
      await admin.addPolicy({
        name: "compat",
        rules: 'path "secret/data/strongroom/compat/rendered/compat/*" { capabilities = ["read"] }',
      });
      await admin.write("auth/approle/role/compat", { token_policies: "compat" });
      const roleId = (await admin.read("auth/approle/role/compat/role-id")).data.role_id as string;
      const secretId = (await admin.write("auth/approle/role/compat/secret-id", {})).data
        .secret_id as string;

      const castellanConf = join(dir, "castellan.conf");
      const mappingConf = join(dir, "secrets_mapping.conf");
      const appConf = join(dir, "app.conf");
      writeFileSync(castellanConf, broker.castellanConfig("compat", { roleId, secretId }));
      writeFileSync(mappingConf, broker.castellanMapping("compat"));
      writeFileSync(
        appConf,
        `[DEFAULT]\nconfig_source = secrets\n\n[secrets]\ndriver = castellan\nconfig_file = ${castellanConf}\nmapping_file = ${mappingConf}\n`,
      );
      const loaded = await load(appConf);
      for (const [name, value] of Object.entries(STRINGS)) {
        const id = broker.castellanId("compat", "DEFAULT", option(name));
        expect(loaded[`DEFAULT/${option(name)}`], name).toEqual({ value, location: ["user", id] });
      }
      const answers = await brokerAnswers();
      // castellan hands a multi-valued option one string, so multi_string stays with remote_file.
      delete answers["DEFAULT/hosts"];
      const values = Object.fromEntries(
        Object.entries(loaded)
          .filter(([k]) => k !== "DEFAULT/hosts")
          .map(([k, v]) => [k, v.value ?? v.error]),
      );
      expect(values).toEqual(answers);
      expect(loaded["Mixed_Case/password"]?.location).toEqual([
        "user",
        broker.castellanId("compat", "Mixed_Case", "password"),
      ]);
    });
  },
);

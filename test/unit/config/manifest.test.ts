import { fileURLToPath } from "node:url";
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  consumersOf,
  loadManifest,
  ManifestError,
  parseManifest,
  secretsReferencedBy,
} from "../../../src/config/manifest.js";
import { escapeOsloTemplate, parseTemplate, renderValue } from "../../../src/config/template.js";
import { DO_NOT_ROTATE } from "../../../src/config/tripleo-parameters.js";

const EXAMPLE = fileURLToPath(new URL("../../../examples/tripleo/manifest.yaml", import.meta.url));

/** Problems as "file:line:col: reason" lines. */
function problemsOf(text: string): string[] {
  try {
    parseManifest(text, "m.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return (err as ManifestError).problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.reason}`);
  }
  throw new Error("expected a ManifestError");
}

const lines = (...l: string[]) => `${l.join("\n")}\n`;
const HEAD = ["deployment:", "  name: test"];

describe("the TripleO example manifest", () => {
  const manifest = loadManifest(EXAMPLE);

  it("loads", () => {
    expect(manifest.deployment.name).toBe("overcloud");
    expect([...manifest.services.keys()].sort()).toEqual([
      "cinder",
      "glance",
      "heat",
      "horizon",
      "keystone",
      "neutron",
      "nova",
      "placement",
      "swift",
    ]);
    // The controller's address, never this machine's servers (`npm start` runs this manifest).
    expect(manifest.targets.get("db")).toMatchObject({
      kind: "mariadb",
      host: "192.168.24.2",
      port: 3306,
      adminSecret: "MysqlRootPassword",
    });
    expect(manifest.targets.get("rabbit")).toMatchObject({
      host: "192.168.24.2",
      node: "rabbit@overcloud-controller-0",
    });
  });

  it("derives the consumers of a secret from the templates", () => {
    expect(consumersOf(manifest, "NovaPassword")).toEqual(["cinder", "neutron", "nova"]);
    expect(consumersOf(manifest, "PlacementPassword")).toEqual(["neutron", "nova", "placement"]);
    expect(consumersOf(manifest, "NeutronPassword")).toEqual(["neutron", "nova"]);
    expect(consumersOf(manifest, "CinderPassword")).toEqual(["cinder", "nova"]);
    expect(consumersOf(manifest, "RpcPassword")).toEqual([
      "cinder",
      "glance",
      "heat",
      "keystone",
      "neutron",
      "nova",
    ]);
    expect(consumersOf(manifest, "MysqlRootPassword")).toEqual([]);
    expect(consumersOf(manifest, "NoSuchSecret")).toEqual([]);
  });

  it("derives what a service may read", () => {
    expect(secretsReferencedBy(manifest, "swift")).toEqual(["SwiftHashSuffix", "SwiftPassword"]);
    expect(secretsReferencedBy(manifest, "nova")).toEqual([
      "CinderPassword",
      "NeutronMetadataProxySharedSecret",
      "NeutronPassword",
      "NovaPassword",
      "PlacementPassword",
      "RpcPassword",
    ]);
    expect(secretsReferencedBy(manifest, "nope")).toEqual([]);
  });

  it("applies TripleO's generator and rotation rules to bare names", () => {
    const secret = (n: string) => manifest.secrets.get(n)!;
    expect(secret("MysqlRootPassword").generator).toEqual({ kind: "alphanumeric", length: 10 });
    expect(secret("KeystoneFernetKeys").generator).toEqual({ kind: "fernet-keys" });
    expect(secret("AdminPassword").generator).toEqual({ kind: "alphanumeric", length: 25 });
    expect(secret("HeatAuthEncryptionKey").rotate).toEqual({
      allowed: false,
      reason: DO_NOT_ROTATE.get("HeatAuthEncryptionKey"),
    });
    expect(secret("MysqlRootPassword").rotate).toEqual({ allowed: true, schedule: "0 3 1 * *" });
    expect(secret("SwiftHashSuffix").rotate.allowed).toBe(false);
    expect(secret("NovaPassword").targets[0]).toEqual({
      kind: "mariadb",
      server: "db",
      accounts: [
        { user: "nova", host: "%" },
        { user: "nova", host: "localhost" },
        { user: "nova_api", host: "%" },
        { user: "nova_api", host: "localhost" },
      ],
    });
    expect(secret("RpcPassword").targets).toEqual([
      { kind: "rabbitmq", server: "rabbit", user: "guest" },
    ]);
  });

  it("marks options that reference secrets as secret and normalises defaults", () => {
    const nova = manifest.services.get("nova")!;
    expect(nova.options.get("database")!.get("connection")!.secret).toBe(true);
    expect(nova.options.get("placement")!.get("username")).toEqual({
      type: "string",
      secret: false,
      default: "placement",
    });
    const neutron = manifest.services.get("neutron")!.options.get("DEFAULT")!;
    expect(neutron.get("service_plugins")!.default).toBe("router,segments,trunk");
    expect(nova.restart).toEqual({
      kind: "command",
      command: expect.arrayContaining(["systemctl", "restart", "openstack-nova-api"]),
    });
    expect(nova.health).toMatchObject({ kind: "http", url: "http://127.0.0.1:8774/", retries: 20 });
    expect(nova.rolling).toEqual({
      maxParallel: 1,
      pauseSeconds: 5,
      timeoutSeconds: 300,
      confirmFetch: true,
    });
  });

  it("renders the database URL with the password URL-encoded", () => {
    const option = manifest.services.get("nova")!.options.get("database")!.get("connection")!;
    const rendered = renderValue(option.value as ReturnType<typeof parseTemplate>, {
      secret: () => "n0va$HOST%2F@db$$x",
      var: (name) => (name === "db_host" ? "192.168.24.2" : "?"),
    });
    expect(rendered).toBe(
      "mysql+pymysql://nova:n0va%24HOST%252F%40db%24%24x@192.168.24.2/nova" +
        "?read_default_file=/etc/my.cnf.d/tripleo.cnf&read_default_group=tripleo",
    );
  });
});

describe("manifest errors", () => {
  it("reports a missing file", () => {
    expect(() => loadManifest("/nonexistent/manifest.yaml")).toThrow(
      "/nonexistent/manifest.yaml:1:1: cannot read the manifest (ENOENT)",
    );
  });

  it("reports an empty manifest", () => {
    expect(problemsOf("# nothing\n")).toEqual(["m.yaml:1:1: the manifest is empty"]);
  });

  it("points at unknown keys", () => {
    expect(problemsOf(lines(...HEAD, "secrets:", "  A:", "    rotat: {}"))).toEqual([
      'm.yaml:5:5: unknown key "rotat"',
    ]);
    expect(problemsOf(lines(...HEAD, "bogus: 1"))).toEqual(['m.yaml:3:1: unknown key "bogus"']);
  });

  it("points at wrongly typed values", () => {
    expect(
      problemsOf(lines(...HEAD, "secrets:", "  A:", "    rotate:", '      allowed: "yes"')),
    ).toEqual(["m.yaml:6:16: must be true or false"]);
  });

  it("points at the map that misses a required key", () => {
    expect(
      problemsOf(
        lines(
          ...HEAD,
          "secrets:",
          "  R: {}",
          "targets:",
          "  db:",
          "    kind: mariadb",
          "    host: h",
        ),
      ),
    ).toEqual(['m.yaml:6:3: missing required key "admin_secret"']);
    expect(problemsOf("secrets: {}\n")).toEqual(['m.yaml:1:1: missing required key "deployment"']);
  });

  it("checks kind-specific stanzas against their own schema", () => {
    expect(
      problemsOf(lines(...HEAD, "secrets:", "  A:", "    generator: { kind: alphanumeric }")),
    ).toEqual(['m.yaml:5:5: missing required key "length"']);
    expect(problemsOf(lines(...HEAD, "secrets:", "  A:", "    generator: fernett"))).toEqual([
      expect.stringMatching(/^m\.yaml:5:16: must be one of: alphanumeric, fernet, /),
    ]);
    expect(
      problemsOf(
        lines(
          ...HEAD,
          "secrets:",
          "  A:",
          "    target:",
          "      - kind: mariadb",
          "        accounts: [nova]",
        ),
      ),
    ).toEqual(["m.yaml:7:20: must be an account as user@host"]);
    expect(
      problemsOf(
        lines(...HEAD, "secrets:", "  A:", "    generator: { kind: ssh-keypair, bits: 1024 }"),
      ),
    ).toEqual(["m.yaml:5:43: must be one of: 2048, 3072, 4096"]);
    expect(
      problemsOf(lines(...HEAD, "services:", "  s:", "    health: { kind: http, url: localhost }")),
    ).toEqual(["m.yaml:5:32: must be an http:// or https:// URL"]);
    expect(
      problemsOf(
        lines(...HEAD, "services:", "  s:", "    restart: { kind: command, command: [] }"),
      ),
    ).toEqual(["m.yaml:5:40: must not be empty"]);
    expect(problemsOf(lines(...HEAD, "secrets:", "  A:", "    target: { kind: ldap }"))).toEqual([
      "m.yaml:5:21: must be one of: mariadb, rabbitmq, keystone, command, none",
    ]);
  });

  it("reports YAML syntax errors without quoting the source", () => {
    const problems = problemsOf(lines(...HEAD, "variables:", '  x: "s3cr\\qet"'));
    expect(problems).toEqual(["m.yaml:4:11: invalid escape sequence in a double-quoted string"]);
    expect(problems.join()).not.toContain("s3cr");
    expect(problemsOf(lines(...HEAD, "variables:", "  x: a", "  x: b"))).toEqual([
      "m.yaml:5:3: duplicate key",
    ]);
  });

  it("explains an unquoted template", () => {
    expect(
      problemsOf(
        lines(
          ...HEAD,
          "secrets: { A: }",
          "services:",
          "  s:",
          "    options:",
          "      g:",
          "        o: {{ secret.A }}",
        ),
      ),
    ).toEqual(["m.yaml:8:13: a map key must be a plain value (quote values that start with '{{')"]);
  });

  it("refuses aliases that expand too far", () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 6; i++) {
      const ref = `*${String.fromCharCode(97 + i)}`;
      bomb.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(ref).join(", ")}]`,
      );
    }
    expect(problemsOf(lines(...HEAD, "variables: {}", ...bomb))).toEqual([
      "m.yaml:1:1: aliases expand too far",
    ]);
  });

  it("names service, group and option for an unknown secret, variable or filter", () => {
    const manifest = (value: string) =>
      lines(
        ...HEAD,
        "secrets:",
        "  NovaPassword: {}",
        "services:",
        "  nova:",
        "    options:",
        "      database:",
        `        connection: "${value}"`,
      );
    expect(problemsOf(manifest("mysql://nova:{{ secret.NovaPasswrd }}@db/nova"))).toEqual([
      'm.yaml:9:21: service "nova" [database] connection: unknown secret "NovaPasswrd"',
    ]);
    expect(
      problemsOf(manifest("mysql://nova:{{ secret.NovaPassword }}@{{ var.db }}/nova")),
    ).toEqual(['m.yaml:9:21: service "nova" [database] connection: unknown variable "db"']);
    expect(problemsOf(manifest("{{ secret.NovaPassword | urlencod }}"))).toEqual([
      "m.yaml:9:21: service \"nova\" [database] connection: unknown filter 'urlencod' " +
        "(known: urlencode, base64, json) (at character 1 of the value)",
    ]);
    expect(problemsOf(manifest("x{{ secret.NovaPassword"))).toEqual([
      "m.yaml:9:21: service \"nova\" [database] connection: unclosed '{{' (at character 2 of the value)",
    ]);
    expect(problemsOf(manifest("{{ NovaPassword }}"))).toEqual([
      "m.yaml:9:21: service \"nova\" [database] connection: bad reference 'NovaPassword': " +
        "expected secret.NAME, user.NAME or var.NAME (at character 1 of the value)",
    ]);
  });

  it("collects every semantic problem, in source order", () => {
    const problems = problemsOf(
      lines(
        "deployment:",
        "  name: Bad Name",
        "secrets:",
        "  SwiftHashSuffix:",
        "    rotate: { allowed: true }",
        "  AdminToken: {}",
        "  R:",
        "    rotate: { schedule: '61 * * * *' }",
        "    target: { kind: mariadb, accounts: [r@h] }",
        "services:",
        "  svc:",
        "    options:",
        "      g:",
        "        o: { value: '{{ secret.R }}', secret: false }",
      ),
    );
    expect(problems).toEqual([
      "m.yaml:2:9: invalid deployment name: use lower-case letters, digits, '-' and '_'",
      expect.stringMatching(
        /^m\.yaml:5:24: SwiftHashSuffix may not rotate: swift_hash_path_suffix/,
      ),
      "m.yaml:6:3: AdminToken is a legacy TripleO name: use KeystonePassword",
      "m.yaml:8:25: invalid cron schedule: Invalid value for minute: 61",
      "m.yaml:9:13: no mariadb target is defined under targets",
      'm.yaml:14:47: service "svc" [g] o: references a secret, so it cannot be secret: false',
    ]);
  });

  it("checks target references", () => {
    const base = [
      ...HEAD,
      "targets:",
      "  db: { kind: mariadb, host: h, admin_secret: Root }",
      "  mq: { kind: rabbitmq, host: h, node: rabbit@h, admin_secret: Nope }",
      "secrets:",
      "  Root: {}",
    ];
    expect(
      problemsOf(lines(...base, "  A:", "    target: { kind: rabbitmq, server: db, user: a }")),
    ).toEqual([
      'm.yaml:5:64: target "mq": unknown secret "Nope" (list it under secrets)',
      'm.yaml:9:39: target "db" is a mariadb target, not rabbitmq',
    ]);
    expect(
      problemsOf(
        lines(
          ...base,
          "  Keys:",
          "    generator: fernet-keys",
          "    target: { kind: mariadb, accounts: [a@b] }",
        ),
      ),
    ).toEqual([
      'm.yaml:5:64: target "mq": unknown secret "Nope" (list it under secrets)',
      "m.yaml:10:13: Keys holds a map value and cannot have a mariadb target",
    ]);
  });

  it("reports only the first few problems in the message", () => {
    const secrets = Array.from({ length: 8 }, (_, i) => `  S${i}: { rotate: { allowed: 1 } }`);
    const message = (() => {
      try {
        parseManifest(lines(...HEAD, "secrets:", ...secrets), "m.yaml");
      } catch (err) {
        return (err as Error).message;
      }
      return "";
    })();
    expect(message.split("\n")).toHaveLength(6);
    expect(message).toMatch(/^m\.yaml:4:/);
    expect(message).toMatch(/\.\.\. and 3 more problem\(s\)$/);
  });
});

describe("shorthands and defaults", () => {
  it("accepts null secrets, bare generator kinds and bare option values", () => {
    const manifest = parseManifest(
      lines(
        ...HEAD,
        "variables: { host: db.example }",
        "secrets:",
        "  Custom:",
        "  FSID: { generator: uuid4 }",
        "  Supplied: { generator: none }",
        "services:",
        "  svc:",
        "    options:",
        "      DEFAULT:",
        "        password: '{{ secret.Custom }}'",
        "        hosts: { type: multi_string, value: ['{{ var.host }}', other] }",
        "        flags: { type: dict, default: { a: 1, b: true } }",
      ),
      "m.yaml",
    );
    expect(manifest.secrets.get("Custom")).toEqual({
      name: "Custom",
      generator: { kind: "alphanumeric", length: 25 },
      rotate: { allowed: true },
      targets: [],
      tripleo: false,
    });
    expect(manifest.secrets.get("FSID")!.generator).toEqual({ kind: "uuid4" });
    const options = manifest.services.get("svc")!.options.get("DEFAULT")!;
    expect(options.get("password")).toMatchObject({ type: "string", secret: true });
    expect(options.get("hosts")!.value).toHaveLength(2);
    expect(options.get("flags")!.default).toBe("a:1,b:true");
    expect(manifest.services.get("svc")!.rolling).toEqual({
      maxParallel: 1,
      pauseSeconds: 0,
      timeoutSeconds: 300,
      confirmFetch: true,
    });
  });
});

describe("templates", () => {
  const resolve = { secret: (n: string) => `<${n}>`, var: (n: string) => `[${n}]` };

  it("renders references and chained filters", () => {
    expect(renderValue("a {{ secret.X }} b {{var.y}}", resolve)).toBe("a <X> b [y]");
    expect(renderValue("{{ secret.X | base64 | json }}", resolve)).toBe(
      JSON.stringify(Buffer.from("<X>").toString("base64")),
    );
    expect(renderValue("{{ secret.X | json }}", { ...resolve, secret: () => 'a"b' })).toBe(
      '"a\\"b"',
    );
  });

  it("escapes only substituted values for oslo.config", () => {
    const template = parseTemplate("$state_path/{{ secret.X }}");
    expect(
      renderValue(
        template,
        { ...resolve, secret: () => "pa$$word" },
        { escape: escapeOsloTemplate },
      ),
    ).toBe("$state_path/pa$$$$word");
  });

  test.prop([fc.string({ unit: "grapheme", maxLength: 40 })])(
    "urlencode keeps only unreserved characters and round-trips",
    (value) => {
      const encoded = renderValue("{{ secret.X | urlencode }}", {
        ...resolve,
        secret: () => value,
      });
      expect(encoded).toMatch(/^[A-Za-z0-9._~%-]*$/);
      expect(decodeURIComponent(encoded)).toBe(value);
    },
  );
});

describe("deployment.kit_secret_id_ttl", () => {
  it("takes seconds or a duration, and defaults to no expiry", () => {
    const ttl = (value?: string) =>
      parseManifest(lines(...HEAD, ...(value ? [`  kit_secret_id_ttl: ${value}`] : [])), "m.yaml")
        .deployment.kitSecretIdTtl;
    expect(ttl()).toBe(0);
    expect(ttl("3600")).toBe(3600);
    expect(ttl("30d")).toBe(30 * 86_400);
    expect(ttl("1h30m")).toBe(5400);
  });

  it("names the line of a value that is no duration", () => {
    expect(problemsOf(lines(...HEAD, "  kit_secret_id_ttl: a month"))).toEqual([
      expect.stringMatching(/^m\.yaml:3:\d+: .*kit_secret_id_ttl: "a month" is not a duration/),
    ]);
  });
});

import { describe, expect, it } from "vitest";
import { accountOf } from "../../../src/config/accounts.js";
import { parseManifest, secretsReferencedBy } from "../../../src/config/manifest.js";
import { renderOptionTemplates } from "../../../src/config/option-templates.js";

const manifest = parseManifest(
  `
deployment: { name: t }
targets:
  mq: { kind: rabbitmq, host: 127.0.0.1, admin_secret: RpcPassword }
  db: { kind: mariadb, host: 127.0.0.1, admin_secret: MysqlRootPassword }
secrets:
  MysqlRootPassword: {}
  RpcPassword: { target: { kind: rabbitmq, server: mq, user: guest } }
  NotifyPassword:
    generator: { kind: alphanumeric, length: 10 }
    target: { kind: rabbitmq, server: mq, mode: alternating, users: [notify_a, notify_b] }
  NovaPassword: { target: { kind: mariadb, server: db, accounts: [nova@localhost, nova@%] } }
services:
  nova:
    options:
      DEFAULT:
        transport_url: "rabbit://{{ user.NotifyPassword }}:{{ secret.NotifyPassword | urlencode }}@h:5672/"
`,
  "m.yaml",
);

describe("{{ user.Name }}: the account a secret belongs to", () => {
  it("alternating users take turns with the version: odd versions the first, even the second", () => {
    expect([1, 2, 3, 4].map((v) => accountOf(manifest, "NotifyPassword", v))).toEqual([
      "notify_a",
      "notify_b",
      "notify_a",
      "notify_b",
    ]);
    expect(accountOf(manifest, "RpcPassword", 7)).toBe("guest");
    expect(accountOf(manifest, "NovaPassword", 2)).toBe("nova");
  });

  it("renders together with the password of the same version, and counts as a use of the secret", () => {
    const option = manifest.services.get("nova")!.options.get("DEFAULT")!.get("transport_url")!;
    const render = (version: number) =>
      renderOptionTemplates(
        manifest,
        option,
        () => "p@ss",
        () => version,
      );
    expect(render(1)).toEqual(["rabbit://notify_a:p%40ss@h:5672/"]);
    expect(render(2)).toEqual(["rabbit://notify_b:p%40ss@h:5672/"]);
    expect(secretsReferencedBy(manifest, "nova")).toEqual(["NotifyPassword"]);
  });
});

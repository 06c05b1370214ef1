import { describe, expect, it } from "vitest";
import { ManifestError, parseManifest } from "../../../src/config/manifest.js";

const lines = (...l: string[]) => `${l.join("\n")}\n`;
const BASE = [
  "deployment:",
  "  name: test",
  "targets:",
  "  mq:",
  "    kind: rabbitmq",
  "    host: 127.0.0.1",
  "    admin_secret: RpcPassword",
  "secrets:",
  "  RpcPassword: {}",
];

function problemsOf(text: string): string[] {
  try {
    parseManifest(text, "m.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return (err as ManifestError).problems.map((p) => `${p.line}:${p.col}: ${p.reason}`);
  }
  throw new Error("expected a ManifestError");
}

const targetsOf = (text: string, secret = "AppPassword") =>
  parseManifest(text, "m.yaml").secrets.get(secret)!.targets;

describe("rabbitmq secret targets", () => {
  it("default to a single user, spelled as before", () => {
    expect(
      targetsOf(lines(...BASE, "  AppPassword:", "    target: { kind: rabbitmq, user: app }")),
    ).toEqual([{ kind: "rabbitmq", server: "mq", user: "app" }]);
    expect(
      targetsOf(
        lines(...BASE, "  AppPassword:", "    target: { kind: rabbitmq, mode: single, user: app }"),
      ),
    ).toEqual([{ kind: "rabbitmq", server: "mq", user: "app" }]);
  });

  it("take two users in alternating mode", () => {
    expect(
      targetsOf(
        lines(
          ...BASE,
          "  AppPassword:",
          "    target: { kind: rabbitmq, mode: alternating, users: [app_a, app_b] }",
        ),
      ),
    ).toEqual([{ kind: "rabbitmq", server: "mq", mode: "alternating", users: ["app_a", "app_b"] }]);
  });

  it("explain what is wrong with a mode, user or users", () => {
    const secret = (target: string) =>
      problemsOf(lines(...BASE, "  AppPassword:", `    target: ${target}`));
    /** Line 11, the column of `key` in `target` (the stanza starts at column 13). */
    const at = (target: string, key?: string) =>
      `11:${13 + (key === undefined ? 0 : target.indexOf(key))}`;
    const cases: Array<[string, string | undefined, string]> = [
      [
        "{ kind: rabbitmq }",
        undefined,
        'a rabbitmq target needs "user" (or mode: alternating with "users")',
      ],
      [
        "{ kind: rabbitmq, user: a, users: [a, b] }",
        "users",
        '"users" needs mode: alternating (or use "user")',
      ],
      [
        "{ kind: rabbitmq, mode: alternating }",
        undefined,
        'mode: alternating needs "users: [a, b]" (two user names)',
      ],
      [
        "{ kind: rabbitmq, mode: alternating, user: a, users: [a, b] }",
        "user:",
        'mode: alternating takes "users: [a, b]", not "user"',
      ],
      [
        "{ kind: rabbitmq, mode: alternating, users: [a, a] }",
        "[a, a]",
        "mode: alternating needs two different users",
      ],
    ];
    for (const [target, key, reason] of cases) {
      expect(secret(target)).toEqual([`${at(target, key)}: ${reason}`]);
    }
    const three = "{ kind: rabbitmq, mode: alternating, users: [a, b, c] }";
    expect(secret(three)).toHaveLength(1);
    expect(secret(three)[0]).toMatch(new RegExp(`^${at(three, "[a, b, c]")}: .*2`));
    const twice = "{ kind: rabbitmq, mode: twice, user: a }";
    expect(secret(twice)[0]).toMatch(new RegExp(`^${at(twice, "twice")}: `));
  });
});

describe("rabbitmq target servers", () => {
  it("take a node name and a rabbitmqctl argv", () => {
    const manifest = parseManifest(
      lines(
        ...BASE.slice(0, 7),
        "    node: rabbit@controller-0",
        "    rabbitmqctl: [podman, exec, -i, rabbitmq, rabbitmqctl]",
        ...BASE.slice(7),
      ),
      "m.yaml",
    );
    expect(manifest.targets.get("mq")).toMatchObject({
      node: "rabbit@controller-0",
      rabbitmqctl: ["podman", "exec", "-i", "rabbitmq", "rabbitmqctl"],
    });
  });

  it("refuse node and rabbitmqctl on a mariadb target", () => {
    expect(
      problemsOf(
        lines(
          "deployment:",
          "  name: test",
          "targets:",
          "  db:",
          "    kind: mariadb",
          "    host: 127.0.0.1",
          "    admin_secret: MysqlRootPassword",
          "    node: rabbit@x",
          "    rabbitmqctl: [rabbitmqctl]",
          "secrets:",
          "  MysqlRootPassword: {}",
        ),
      ),
    ).toEqual([
      '8:5: "node" is for rabbitmq targets only',
      '9:5: "rabbitmqctl" is for rabbitmq targets only',
    ]);
  });

  it("refuse a host that is not this machine without a node or a rabbitmqctl argv (it would change the local node)", () => {
    const remote = (...extra: string[]) =>
      lines(...BASE.slice(0, 5), "    host: 192.168.24.2", ...extra, ...BASE.slice(6));
    expect(problemsOf(remote())).toEqual([
      '6:11: rabbitmqctl reaches a node by name, not by host: set "node" (e.g. rabbit@controller-0) or "rabbitmqctl" (e.g. [ssh, controller-0, rabbitmqctl]) for 192.168.24.2',
    ]);
    expect(
      parseManifest(remote("    node: rabbit@controller-0"), "m.yaml").targets.get("mq"),
    ).toMatchObject({ host: "192.168.24.2", node: "rabbit@controller-0" });
    expect(
      parseManifest(
        remote("    rabbitmqctl: [ssh, controller-0, rabbitmqctl]"),
        "m.yaml",
      ).targets.get("mq"),
    ).toMatchObject({ rabbitmqctl: ["ssh", "controller-0", "rabbitmqctl"] });
    for (const local of ["localhost", "127.0.0.1", "::1"]) {
      const text = lines(...BASE.slice(0, 5), `    host: "${local}"`, ...BASE.slice(6));
      expect(parseManifest(text, "m.yaml").targets.get("mq")).toMatchObject({ host: local });
    }
  });
});

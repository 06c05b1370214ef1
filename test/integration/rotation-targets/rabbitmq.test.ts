import { afterAll, beforeAll, expect, it, vi } from "vitest";
import {
  type AlternatingUsersTarget,
  alternatingUser,
  driver,
} from "../../../drivers/rotation-targets/rabbitmq/index.js";
import type { RotationTarget, RotationValues } from "../../../drivers/types.js";
import type { RabbitmqSecretTarget, TargetSpec } from "../../../src/config/manifest-types.js";
import { type RabbitMqServer, startRabbitMq } from "../../helpers/rabbitmq-server.js";
import { describeWithServers } from "../../helpers/servers.js";

/** A target stanza without kind and server (Omit on each member of the union). */
type Stanza = RabbitmqSecretTarget extends infer T
  ? T extends RabbitmqSecretTarget
    ? Omit<T, "kind" | "server">
    : never
  : never;

/** Every value this file hands to the driver or the node: none may show up in an argv. */
const VALUES = new Set<string>();
const value = (v: string) => {
  VALUES.add(v);
  return v;
};

// Every rabbitmqctl run boots an Erlang VM (~0.5 s of CPU): these tests are slow by nature.
describeWithServers(["rabbitmq"], "the rabbitmq rotation target (private RabbitMQ node)", () => {
  vi.setConfig({ testTimeout: 180_000 });
  let mq: RabbitMqServer;

  beforeAll(async () => {
    mq = await startRabbitMq();
    await ctl(["add_vhost", "other"]);
  });
  afterAll(() => mq?.stop());

  async function ctl(args: string[], input?: string): Promise<string> {
    const result = await mq.ctl(args, input);
    if (result.code !== 0)
      throw new Error(`rabbitmqctl ${args[0]}: exit ${result.code} ${result.stderr}`);
    return result.stdout;
  }
  const json = async <T>(args: string[]) =>
    JSON.parse(await ctl([...args, "--formatter", "json"])) as T;
  /** Tags, vhost and topic permissions of two users, read with four rabbitmqctl runs. */
  const grantsOf = async (...users: string[]) => {
    type Row = { user: string; tags?: string[] };
    const [tags, root, other, topics] = await Promise.all([
      json<Row[]>(["list_users"]),
      json<Row[]>(["list_permissions", "-p", "/"]),
      json<Row[]>(["list_permissions", "-p", "other"]),
      json<Row[]>(["list_topic_permissions", "-p", "/"]),
    ]);
    return users.map((user) =>
      [tags, root, other, topics].map((rows) =>
        rows.filter((r) => r.user === user).map(({ user: _, ...rest }) => rest),
      ),
    );
  };
  const expectSameGrants = async (a: string, b: string) => {
    const [ofA, ofB] = await grantsOf(a, b);
    expect(ofA).toEqual(ofB);
    return ofA!;
  };

  const server = (): TargetSpec => ({
    name: "rabbit",
    kind: "rabbitmq",
    host: "127.0.0.1",
    port: mq.port,
    adminUser: "guest",
    adminSecret: "RpcPassword",
    tls: false,
    node: mq.node,
    rabbitmqctl: mq.rabbitmqctl,
  });
  const target = (spec: Stanza): Promise<RotationTarget> =>
    driver.create({ kind: "rabbitmq", server: "rabbit", ...spec } as RabbitmqSecretTarget, {
      server: server(),
      adminPasswords: async () => [],
    });
  const values = (current: string, next: string, currentVersion = 1): RotationValues => ({
    current: value(current),
    next: value(next),
    currentVersion,
  });

  it("single: apply switches the password, rollback switches it back, both idempotent", async () => {
    await ctl(["add_user", "nova"], `${value("nova-v1")}\n`);
    await ctl(["set_permissions", "-p", "/", "nova", ".*", ".*", ".*"]);
    const nova = await target({ user: "nova" });
    expect(nova.describe()).toEqual({
      kind: "rabbitmq",
      accounts: ["rabbitmq user nova"],
      overlap: "none",
    });
    const v = values("nova-v1", `nova-v2 with spaces, 'quotes' & $igils`);

    await nova.apply(v);
    expect(await mq.canLogin("nova", v.next)).toBe(true);
    expect(await mq.canLogin("nova", v.current)).toBe(false);
    expect(await nova.accepts(v.next)).toBe(true);
    expect(await nova.accepts(v.current)).toBe(false);
    await nova.apply(v);
    await nova.retire(v);
    expect(await mq.canLogin("nova", v.next)).toBe(true);

    await nova.rollback(v);
    await nova.rollback(v);
    expect(await mq.canLogin("nova", v.current)).toBe(true);
    expect(await mq.canLogin("nova", v.next)).toBe(false);
  });

  it("single: a missing user or an unpassable value fails in one line, without the value", async () => {
    const ghost = await target({ user: "ghost" });
    const missing = await ghost.apply(values("ghost-v1", "ghost-v2")).catch((e: Error) => e);
    expect(missing).toMatchObject({ code: "STRONGROOM_ERR_TARGET" });
    expect((missing as Error).message).toMatch(/RabbitMQ user "ghost" does not exist/);
    expect(await ghost.accepts(value("ghost-v1"))).toBe(false);

    await ctl(["add_user", "padded"], `${value("padded-v1")}\n`);
    await ctl(["set_permissions", "-p", "/", "padded", ".*", ".*", ".*"]);
    const padded = await target({ user: "padded" });
    // rabbitmqctl trims stdin: " x " would silently become "x".
    const refused = await padded.apply(values("padded-v1", " padded-v2 ")).catch((e: Error) => e);
    expect((refused as Error).message).toMatch(/cannot be passed to rabbitmqctl on stdin/);
    expect((refused as Error).message).not.toContain("padded-v");
    expect(await mq.canLogin("padded", "padded-v1")).toBe(true);
  });

  it("alternating: apply creates the other user with the same grants; the old user works until retire", async () => {
    await ctl(["add_user", "app_a"], `${value("app-v1")}\n`);
    await ctl(["set_user_tags", "app_a", "monitoring"]);
    await ctl(["set_permissions", "-p", "/", "app_a", ".*", ".*", ".*"]);
    await ctl(["set_permissions", "-p", "other", "app_a", "^app-", "", ".*"]);
    await ctl(["set_topic_permissions", "-p", "/", "app_a", "amq.topic", "^app\\.", ".*"]);
    const app = (await target({
      mode: "alternating",
      users: ["app_a", "app_b"],
    })) as AlternatingUsersTarget;
    expect(app.describe()).toEqual({
      kind: "rabbitmq",
      accounts: ["rabbitmq user app_a", "rabbitmq user app_b"],
      overlap: "alternating",
    });

    const first = values("app-v1", "app-v2", 1);
    await app.apply(first);
    expect(await mq.canLogin("app_b", "app-v2")).toBe(true);
    expect(await mq.canLogin("app_b", "app-v2", "other")).toBe(true);
    expect(await mq.canLogin("app_a", "app-v1")).toBe(true);
    const grants = await expectSameGrants("app_b", "app_a");
    expect(grants.map((rows) => rows.length)).toEqual([1, 1, 1, 1]); // tags, "/", "other", topic
    expect(await app.accepts("app-v2")).toBe(true);
    expect(await app.accepts("app-v2", 2)).toBe(true);
    expect(await app.accepts("app-v2", 1)).toBe(false);
    expect(await mq.canLogin("app_a", "app-v1")).toBe(true); // until the consumers moved
    await app.retire(first);
    await app.retire(first);
    expect(await mq.canLogin("app_a", "app-v1")).toBe(false);
    expect(await app.accepts("app-v1")).toBe(false);
    expect(await mq.canLogin("app_b", "app-v2")).toBe(true);

    // Second rotation: version 2 (app_b) is active, app_a gets v3 and app_b's grants, which
    // changed in the meantime; app_a's extra grant goes.
    await ctl(["set_permissions", "-p", "other", "app_b", ".*", ".*", ".*"]);
    await ctl(["set_permissions", "-p", "other", "app_a", "^app-", "", ".*"]);
    await ctl(["clear_topic_permissions", "-p", "/", "app_b"]);
    const second = values("app-v2", "app-v3", 2);
    await app.apply(second);
    await app.apply(second);
    expect(await mq.canLogin("app_a", "app-v3")).toBe(true);
    expect(await mq.canLogin("app_a", "app-v1")).toBe(false);
    expect(await mq.canLogin("app_b", "app-v2")).toBe(true);
    const [, , , topics] = await expectSameGrants("app_a", "app_b");
    expect(topics).toEqual([]);
    await app.rollback(second);
    expect(await app.accepts("app-v2")).toBe(true);
    expect(await app.accepts("app-v3")).toBe(false);
    expect(alternatingUser(["app_a", "app_b"], 3)).toBe("app_a");
  });

  it("alternating: a crash after add_user, before the grants, converges on the next apply", async () => {
    await ctl(["add_user", "svc_a"], `${value("svc-v1")}\n`);
    await ctl(["set_permissions", "-p", "/", "svc_a", ".*", ".*", ".*"]);
    await ctl(["add_user", "svc_b"], `${value("svc-half")}\n`); // created, password set, no grants
    const svc = await target({ mode: "alternating", users: ["svc_a", "svc_b"] });
    await svc.apply(values("svc-v1", "svc-v2", 1));
    await expectSameGrants("svc_b", "svc_a");
    expect(await mq.canLogin("svc_b", "svc-v2")).toBe(true);

    const orphan = await target({ mode: "alternating", users: ["gone_a", "gone_b"] });
    await expect(orphan.apply(values("gone-v1", "gone-v2", 1))).rejects.toThrow(
      /the active user "gone_a" \(version 1\) does not exist/,
    );
  });

  it("never puts a value on a command line (recorded by the rabbitmqctl wrapper)", () => {
    const calls = mq.recordedArgv();
    expect(calls.some((argv) => argv.includes("change_password"))).toBe(true);
    expect(calls.some((argv) => argv.includes("add_user") && argv.includes("app_b"))).toBe(true);
    expect(calls.some((argv) => argv.includes("authenticate_user"))).toBe(true);
    for (const argv of calls) {
      for (const v of VALUES) expect(argv.join(" ")).not.toContain(v.trim());
    }
  });
});

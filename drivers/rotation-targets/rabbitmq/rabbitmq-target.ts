/**
 * RabbitMQ users as rotation targets, through rabbitmqctl (passwords on stdin, never argv).
 * Internal users have one password each, so there are two modes:
 *
 * - `single`: `apply` changes the user's password to `next` (overlap "none": clients holding
 *   the old value fail at their next reconnect until restarted; open connections survive);
 *   `retire` has nothing left to do; `rollback` changes it back to `current`.
 * - `alternating` (AWS Secrets Manager's alternating-users strategy): two users take turns.
 *   The active user for secret version v is `users[(v - 1) % 2]`; `apply` sets `next` on the
 *   other one, creating it if needed, and gives it exactly the active user's tags and
 *   permissions. `retire` (after every consumer restarted on the new user) clears the previous
 *   user's password, so the old credential stops working; the next rotation sets a new one on
 *   it. `rollback` clears the standby's password again: the active user was never touched.
 *   Consumers must take the user name from the same version as the password
 *   (`alternatingUser`).
 *
 * `accepts` asks the node (`authenticate_user`: exit 0 accepted, 65 refused); the steps rely
 * on the engine calling it after each of them rather than on rabbitmqctl's exit codes.
 */
import type { RabbitmqSecretTarget, TargetSpec } from "../../../src/config/manifest-types.js";
import type {
  RotationTarget,
  RotationTargetContext,
  RotationValues,
  TargetDescription,
} from "../../types.js";
import { targetError } from "../target-error.js";
import { alternatingUser } from "./alternating.js";
import { copyGrants } from "./copy-grants.js";
import { Rabbitmqctl } from "./rabbitmqctl.js";

const DEFAULT_TIMEOUT_MS = 30_000;

function rabbitmqctlFor(server: TargetSpec | undefined, where: string): Rabbitmqctl {
  return new Rabbitmqctl({
    argv: server?.rabbitmqctl ?? ["rabbitmqctl"],
    ...(server?.node !== undefined && { node: server.node }),
    timeoutMs: DEFAULT_TIMEOUT_MS,
    where,
  });
}

abstract class RabbitmqTarget implements RotationTarget {
  readonly driver = "rabbitmq";
  protected readonly ctl: Rabbitmqctl;
  protected readonly where: string;

  constructor(
    spec: RabbitmqSecretTarget,
    protected readonly context: RotationTargetContext,
  ) {
    this.where = `RabbitMQ target "${spec.server}"${context.server?.node ? ` (node ${context.server.node})` : ""}`;
    this.ctl = rabbitmqctlFor(context.server, this.where);
  }

  abstract describe(): TargetDescription;
  abstract accepts(password: string, forVersion?: number): Promise<boolean>;
  abstract apply(values: RotationValues): Promise<void>;
  abstract retire(values: RotationValues): Promise<void>;
  abstract rollback(values: RotationValues): Promise<void>;

  /**
   * Sets `user`'s password (`add`: creates the user with it). Not checked here: the engine
   * asks `accepts` after every step, and each rabbitmqctl run costs an Erlang VM boot.
   */
  protected async setPassword(user: string, password: string, add = false): Promise<void> {
    Rabbitmqctl.checkPassable(password, this.where);
    if (add) {
      await this.ctl.addUser(user, password);
      this.context.log?.("rabbitmq user created", { user });
    } else if (!(await this.ctl.changePassword(user, password))) {
      throw targetError(`${this.where}: RabbitMQ user "${user}" does not exist`);
    }
    this.context.log?.("rabbitmq password changed", { user });
  }

  protected authenticates(user: string, password: string): Promise<boolean> {
    Rabbitmqctl.checkPassable(password, this.where);
    return this.ctl.authenticates(user, password);
  }
}

export class SingleUserTarget extends RabbitmqTarget {
  constructor(
    private readonly user: string,
    spec: RabbitmqSecretTarget,
    context: RotationTargetContext,
  ) {
    super(spec, context);
  }

  describe(): TargetDescription {
    return { kind: "rabbitmq", accounts: [`rabbitmq user ${this.user}`], overlap: "none" };
  }

  accepts(password: string): Promise<boolean> {
    return this.authenticates(this.user, password);
  }

  async apply(values: RotationValues): Promise<void> {
    await this.setPassword(this.user, values.next);
  }

  async retire(_values: RotationValues): Promise<void> {
    // The old password stopped working at apply.
  }

  async rollback(values: RotationValues): Promise<void> {
    await this.setPassword(this.user, values.current);
  }
}

export class AlternatingUsersTarget extends RabbitmqTarget {
  constructor(
    private readonly users: readonly [string, string],
    spec: RabbitmqSecretTarget,
    context: RotationTargetContext,
  ) {
    super(spec, context);
  }

  describe(): TargetDescription {
    return {
      kind: "rabbitmq",
      accounts: this.users.map((u) => `rabbitmq user ${u}`),
      overlap: "alternating",
    };
  }

  /** With `forVersion`: whether that version's user accepts `password`; without: either user
   * (a value belongs to exactly one of them). */
  async accepts(password: string, forVersion?: number): Promise<boolean> {
    if (forVersion !== undefined) {
      return this.authenticates(alternatingUser(this.users, forVersion), password);
    }
    for (const user of this.users) if (await this.authenticates(user, password)) return true;
    return false;
  }

  async apply(values: RotationValues): Promise<void> {
    const active = alternatingUser(this.users, values.currentVersion);
    const standby = alternatingUser(this.users, values.currentVersion + 1);
    Rabbitmqctl.checkPassable(values.next, this.where);
    const existing = await this.ctl.users();
    const from = existing.find((u) => u.user === active);
    if (!from) {
      throw targetError(
        `${this.where}: the active user "${active}" (version ${values.currentVersion}) does not exist`,
      );
    }
    const to = existing.find((u) => u.user === standby);
    await this.setPassword(standby, values.next, !to);
    await copyGrants(this.ctl, from, to ?? { user: standby, tags: [] });
  }

  async retire(values: RotationValues): Promise<void> {
    await this.clear(alternatingUser(this.users, values.currentVersion));
  }

  async rollback(values: RotationValues): Promise<void> {
    // apply only touched the standby user; the active one still has `current`.
    await this.clear(alternatingUser(this.users, values.currentVersion + 1));
  }

  private async clear(user: string): Promise<void> {
    // A user that does not exist accepts no password either.
    if (await this.ctl.clearPassword(user)) {
      this.context.log?.("rabbitmq password cleared", { user });
    }
  }
}

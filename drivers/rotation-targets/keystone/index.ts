/**
 * The `keystone` rotation target: a Keystone user's password, through the identity v3 API.
 *
 * - `single`: `apply` sets the user's password (Keystone has one per user: the old one fails at
 *   once, overlap "none"); `rollback` sets the current one back; `retire` has nothing left.
 * - `alternating` (AWS Secrets Manager's alternating users; Sunbeam's `<name>-<suffix>` users):
 *   the active user for secret version v is `users[(v - 1) % 2]`. `apply` enables the other one
 *   with `next` (creating it when missing) and gives it every role of the active one; consumers
 *   move to it with `{{ user.Secret }}` in their templates as they restart. `retire` disables
 *   the previous user once every consumer moved (disabling also revokes its tokens); `rollback`
 *   disables the standby again.
 *
 * `accepts` asks Keystone for a token with the password: it is decided by logging in.
 */
import { readFileSync } from "node:fs";
import { alternatingUser } from "../../../src/config/accounts.js";
import type { KeystoneSecretTarget } from "../../../src/config/manifest-types.js";
import type {
  RotationTarget,
  RotationTargetContext,
  RotationTargetDriver,
  RotationValues,
  TargetDescription,
} from "../../types.js";
import { targetError } from "../target-error.js";
import { KeystoneUsers } from "./keystone-users.js";

class KeystoneTarget implements RotationTarget {
  readonly driver = "keystone";

  constructor(
    private readonly spec: KeystoneSecretTarget,
    private readonly keystone: KeystoneUsers,
  ) {}

  private get users(): readonly string[] {
    return this.spec.mode === "alternating" ? this.spec.users : [this.spec.user];
  }

  describe(): TargetDescription {
    return {
      kind: "keystone",
      accounts: this.users.map((u) => `keystone user ${u}`),
      overlap: this.spec.mode === "alternating" ? "alternating" : "none",
    };
  }

  /** With `forVersion` (alternating): whether that version's user accepts it; else any user. */
  async accepts(password: string, forVersion?: number): Promise<boolean> {
    const candidates =
      forVersion !== undefined && this.spec.mode === "alternating"
        ? [alternatingUser(this.spec.users, forVersion)]
        : this.users;
    for (const user of candidates) {
      if (await this.keystone.authenticates(user, this.spec.domain, password)) return true;
    }
    return false;
  }

  async apply(values: RotationValues): Promise<void> {
    const token = await this.keystone.adminToken();
    const domainId = await this.keystone.domainId(token, this.spec.domain);
    if (this.spec.mode !== "alternating") {
      const user = await this.keystone.require(token, this.spec.user, domainId);
      await this.keystone.update(token, user, { password: values.next });
      return;
    }
    const active = await this.keystone.require(
      token,
      alternatingUser(this.spec.users, values.currentVersion),
      domainId,
    );
    const standbyName = alternatingUser(this.spec.users, values.currentVersion + 1);
    let standby = await this.keystone.find(token, standbyName, domainId);
    if (standby) {
      await this.keystone.update(token, standby, { password: values.next, enabled: true });
    } else {
      standby = await this.keystone.create(token, standbyName, domainId, values.next);
    }
    await this.keystone.copyRoles(token, active, standby);
  }

  async retire(values: RotationValues): Promise<void> {
    if (this.spec.mode !== "alternating") return; // the old password stopped working at apply
    await this.disable(alternatingUser(this.spec.users, values.currentVersion));
  }

  async rollback(values: RotationValues): Promise<void> {
    if (this.spec.mode !== "alternating") {
      const token = await this.keystone.adminToken();
      const domainId = await this.keystone.domainId(token, this.spec.domain);
      const user = await this.keystone.require(token, this.spec.user, domainId);
      await this.keystone.update(token, user, { password: values.current });
      return;
    }
    // apply only touched the standby user; the active one still has `current`.
    await this.disable(alternatingUser(this.spec.users, values.currentVersion + 1));
  }

  private async disable(name: string): Promise<void> {
    const token = await this.keystone.adminToken();
    const domainId = await this.keystone.domainId(token, this.spec.domain);
    const user = await this.keystone.find(token, name, domainId);
    // A user that does not exist accepts no password either.
    if (user?.enabled) await this.keystone.update(token, user, { enabled: false });
  }
}

export const driver: RotationTargetDriver = {
  kind: "rotation-target",
  name: "keystone",
  async create(spec, context: RotationTargetContext) {
    if (spec.kind !== "keystone")
      throw targetError(`the keystone driver got a ${spec.kind} target`);
    const server = context.server;
    if (server?.kind !== "keystone" || server.url === undefined) {
      throw targetError(`keystone target "${spec.server}" needs a keystone server with a url`);
    }
    const where = `Keystone target "${spec.server}"`;
    let ca: Buffer | undefined;
    if (server.caFile !== undefined) {
      try {
        ca = readFileSync(server.caFile);
      } catch (error) {
        throw targetError(
          `${where}: cannot read ca_file (${(error as NodeJS.ErrnoException).code ?? "error"})`,
        );
      }
    }
    const connection = { url: server.url, where, ...(ca && { ca }) };
    return new KeystoneTarget(spec, new KeystoneUsers(connection, server, context));
  },
};

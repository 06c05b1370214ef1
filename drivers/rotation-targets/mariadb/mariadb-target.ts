/**
 * MariaDB accounts as a dual-password rotation target. MariaDB has no RETAIN CURRENT PASSWORD,
 * but an account may chain authentication methods (10.4+), so `apply` makes every `user@host`
 * variant accept `current OR next`, `retire` leaves `next`, `rollback` leaves `current`.
 *
 * Every step converges on a wanted chain: it reads mysql.global_priv, alters only the variants
 * that differ, and reads again to prove the change landed. It never trusts a status code
 * (`SET PASSWORD` on a `unix_socket OR ...` account reports ERROR 1699 yet changes the
 * password), so a step re-run after a crash at any point finishes the job or is a no-op.
 *
 * When the accounts are the admin's own (rotating root), the admin may already have the staged
 * value: the rotation's own values are tried as admin passwords too, `next` first.
 */
import type { Connection } from "mysql2/promise";
import type { Account, SecretTarget, TargetSpec } from "../../../src/config/manifest-types.js";
import { StrongroomError } from "../../../src/lib/errors.js";
import type {
  RotationTarget,
  RotationTargetContext,
  RotationValues,
  TargetDescription,
} from "../../types.js";
import { targetError } from "../target-error.js";
import {
  type AuthMethod,
  chainAccepts,
  desiredChain,
  identifiedVia,
  parseChain,
  sameChain,
} from "./auth-chain.js";
import { connect, type Endpoint, loginWorks, sqlErrorText } from "./connection.js";

export type MariaDbSecretTarget = Extract<SecretTarget, { kind: "mariadb" }>;

type Step = "apply" | "retire" | "rollback";

const accountName = (a: Account) => `${a.user}@${a.host}`;
const accountKey = (user: string, host: string) => `${user}\u0000${host.toLowerCase()}`;

export class MariaDbTarget implements RotationTarget {
  readonly driver = "mariadb";
  private readonly endpoint: Endpoint;
  private readonly users: string[];
  private readonly rotatesAdmin: boolean;

  constructor(
    private readonly spec: MariaDbSecretTarget,
    private readonly server: TargetSpec,
    private readonly context: RotationTargetContext,
  ) {
    this.endpoint = { host: server.host, port: server.port, tls: server.tls };
    this.users = [...new Set(spec.accounts.map((a) => a.user))];
    this.rotatesAdmin = this.users.includes(server.adminUser);
  }

  describe(): TargetDescription {
    return { kind: "mariadb", accounts: this.spec.accounts.map(accountName), overlap: "dual" };
  }

  /** A fresh TCP login as each user works, and every variant's chain holds the password's hash
   * (a login reaches only the variant matching strongroom's host, e.g. user@localhost). */
  async accepts(password: string): Promise<boolean> {
    for (const user of this.users) {
      if (!(await this.guard("login check", () => loginWorks(this.endpoint, user, password)))) {
        return false;
      }
    }
    return this.asAdmin([password], async (connection) => {
      const chains = await this.readChains(connection);
      return this.spec.accounts.every((a) =>
        chainAccepts(chains.get(accountKey(a.user, a.host))!, password),
      );
    });
  }

  apply(values: RotationValues): Promise<void> {
    return this.converge("apply", [values.current, values.next], values);
  }

  retire(values: RotationValues): Promise<void> {
    return this.converge("retire", [values.next], values);
  }

  rollback(values: RotationValues): Promise<void> {
    return this.converge("rollback", [values.current], values);
  }

  private async converge(step: Step, passwords: string[], values: RotationValues): Promise<void> {
    const own = [
      values.next,
      values.current,
      ...(values.previous === undefined ? [] : [values.previous]),
    ];
    await this.asAdmin(own, async (connection) => {
      const before = await this.readChains(connection);
      const wanted = new Map<string, AuthMethod[]>();
      for (const account of this.spec.accounts) {
        const key = accountKey(account.user, account.host);
        const chain = desiredChain(before.get(key)!, passwords);
        if (sameChain(chain, before.get(key)!)) continue;
        wanted.set(key, chain);
        await this.guard(`${step} of ${accountName(account)}`, () => {
          const quote = (s: string) => connection.escape(s);
          const statement = `ALTER USER ${quote(account.user)}@${quote(account.host)} ${identifiedVia(chain, quote)}`;
          return connection.query(statement);
        });
      }
      if (wanted.size === 0) return;
      const after = await this.readChains(connection);
      for (const account of this.spec.accounts) {
        const key = accountKey(account.user, account.host);
        const chain = wanted.get(key);
        if (chain && !sameChain(after.get(key)!, chain)) {
          throw targetError(
            `MariaDB ${this.where}: ${step} did not take effect on ${accountName(account)}`,
          );
        }
      }
      this.context.log?.("mariadb accounts changed", {
        step,
        accounts: this.spec.accounts
          .filter((a) => wanted.has(accountKey(a.user, a.host)))
          .map(accountName),
      });
    });
  }

  /** Every account's chain by user and host; a missing account is an error naming it. */
  private async readChains(connection: Connection): Promise<Map<string, AuthMethod[]>> {
    const [rows] = await this.guard("reading mysql.global_priv", () =>
      connection.query(
        "SELECT User AS user, Host AS host, Priv AS priv FROM mysql.global_priv WHERE User IN (?)",
        [this.users],
      ),
    );
    const chains = new Map<string, AuthMethod[]>();
    type Row = { user: string; host: string; priv: string | Record<string, unknown> };
    for (const row of rows as Row[]) {
      chains.set(accountKey(row.user, row.host), parseChain(row.priv));
    }
    for (const account of this.spec.accounts) {
      if (!chains.has(accountKey(account.user, account.host))) {
        throw targetError(
          `MariaDB account ${accountName(account)} does not exist on ${this.where}`,
        );
      }
    }
    return chains;
  }

  /**
   * Runs `work` on a connection as the target's admin, trying the admin secret's candidates in
   * order (a refused login tries the next one). `own`: values that may be the admin's own
   * password when the accounts are the admin's (the first one is probed before the others).
   */
  private async asAdmin<T>(
    own: string[],
    work: (connection: Connection) => Promise<T>,
  ): Promise<T> {
    const admin = await this.context.adminPasswords();
    const candidates = [
      ...new Set(this.rotatesAdmin ? [...own.slice(0, 1), ...admin, ...own.slice(1)] : admin),
    ];
    for (const password of candidates) {
      const connection = await this.guard("admin login", () =>
        connect(this.endpoint, this.server.adminUser, password),
      );
      if (connection === "denied") continue;
      try {
        return await work(connection);
      } finally {
        await connection.end().catch(() => {});
      }
    }
    throw targetError(
      `cannot log in to ${this.where} as ${this.server.adminUser}: none of its ${candidates.length} admin password candidate(s) is accepted`,
    );
  }

  private get where(): string {
    return `target "${this.server.name}" (${this.server.host}:${this.server.port})`;
  }

  /** Network and server errors as one-line target errors. */
  private async guard<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof StrongroomError) throw error;
      throw targetError(`MariaDB ${this.where}: ${what} failed: ${sqlErrorText(error)}`);
    }
  }
}

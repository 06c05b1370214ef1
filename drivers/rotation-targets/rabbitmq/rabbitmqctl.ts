/**
 * rabbitmqctl as the rabbitmq targets use it: passwords on stdin only (add_user,
 * change_password and authenticate_user read it from stdin when the argument is omitted;
 * checked on 3.10.8), listings as JSON, exit codes mapped to facts.
 *
 * rabbitmqctl trims what it reads from stdin (" pw " sets "pw") and reads one line, so a value
 * with surrounding whitespace or a line break cannot be passed faithfully: it is refused before
 * anything changes rather than set to something else.
 */

import { lastLine, runWithInput } from "../run-with-input.js";
import { redact, targetError } from "../target-error.js";

/** sysexits codes rabbitmqctl uses. */
const RABBITMQ_VARIABLES = /^(RABBITMQ_|ERL_)/;

export const EXIT = {
  ok: 0,
  badCredentials: 65,
  noUser: 67,
  unavailable: 69,
  tempFail: 75,
} as const;

export interface RabbitmqctlOptions {
  /** The argv that runs rabbitmqctl, e.g. ["rabbitmqctl"] or [podman, exec, -i, rabbitmq, rabbitmqctl]. */
  argv: readonly string[];
  /** `-n` node name; rabbitmqctl's default when absent. */
  node?: string;
  timeoutMs: number;
  /** Names the target in messages. */
  where: string;
}

export interface UserInfo {
  user: string;
  tags: string[];
}

export interface VhostPermissions {
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

export interface TopicPermissions {
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}

export class Rabbitmqctl {
  constructor(private readonly options: RabbitmqctlOptions) {}

  /** Refuses values rabbitmqctl would alter on the way in (see the file comment). */
  static checkPassable(value: string, where: string): void {
    if (value === "" || value !== value.trim() || /[\r\n]/.test(value)) {
      throw targetError(
        `${where}: the value cannot be passed to rabbitmqctl on stdin (empty, surrounding whitespace or a line break); use a generator without whitespace`,
      );
    }
  }

  /** Runs one command; resolves with the exit code for the `expected` ones, throws otherwise. */
  async run(
    args: string[],
    expected: readonly number[] = [EXIT.ok],
    password?: string,
  ): Promise<{ code: number; stdout: string }> {
    const node = this.options.node === undefined ? [] : ["-n", this.options.node];
    const argv = [...this.options.argv, ...node, "-q", ...args];
    let result: Awaited<ReturnType<typeof runWithInput>>;
    try {
      result = await runWithInput(argv, {
        timeoutMs: this.options.timeoutMs,
        // Where the node and its Erlang cookie are, when the deployment says so this way.
        inherit: RABBITMQ_VARIABLES,
        ...(password !== undefined && { input: `${password}\n` }),
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      throw targetError(`${this.options.where}: cannot run ${this.options.argv[0]} (${code})`);
    }
    if (result.code !== null && expected.includes(result.code)) {
      return { code: result.code, stdout: result.stdout };
    }
    const why = result.timedOut
      ? `timed out after ${this.options.timeoutMs / 1000} s`
      : `exit ${result.code ?? "by signal"}`;
    const detail = lastLine(redact(result.stderr || result.stdout, password ? [password] : []));
    throw targetError(
      `${this.options.where}: rabbitmqctl ${args[0]} failed (${why})${detail ? `: ${detail}` : ""}`,
    );
  }

  private async json<T>(args: string[]): Promise<T[]> {
    const { stdout } = await this.run([...args, "--formatter", "json"]);
    const start = stdout.indexOf("[");
    try {
      return start === -1 ? [] : (JSON.parse(stdout.slice(start)) as T[]);
    } catch {
      throw targetError(`${this.options.where}: rabbitmqctl ${args[0]} printed no JSON list`);
    }
  }

  /** Users with their tags (3.10 prints a list; older versions a "[a, b]" string). */
  async users(): Promise<UserInfo[]> {
    const rows = await this.json<{ user: string; tags: string[] | string }>(["list_users"]);
    return rows.map((r) => ({
      user: r.user,
      tags: Array.isArray(r.tags)
        ? r.tags
        : r.tags
            .replace(/^\[|\]$/g, "")
            .split(",")
            .map((t) => t.trim())
            .filter(Boolean),
    }));
  }

  permissions(user: string): Promise<VhostPermissions[]> {
    return this.json(["list_user_permissions", user]);
  }

  topicPermissions(user: string): Promise<TopicPermissions[]> {
    return this.json(["list_user_topic_permissions", user]);
  }

  /** True: accepted (exit 0); false: refused (65) or no such user (67). */
  async authenticates(user: string, password: string): Promise<boolean> {
    const { code } = await this.run(
      ["authenticate_user", user],
      [EXIT.ok, EXIT.badCredentials, EXIT.noUser],
      password,
    );
    return code === EXIT.ok;
  }

  /** Sets `user`'s password; false when the user does not exist. */
  async changePassword(user: string, password: string): Promise<boolean> {
    const { code } = await this.run(["change_password", user], [EXIT.ok, EXIT.noUser], password);
    return code === EXIT.ok;
  }

  /** Removes `user`'s password: it can no longer log in with one. False: no such user. */
  async clearPassword(user: string): Promise<boolean> {
    const { code } = await this.run(["clear_password", user], [EXIT.ok, EXIT.noUser]);
    return code === EXIT.ok;
  }

  async addUser(user: string, password: string): Promise<void> {
    await this.run(["add_user", user], [EXIT.ok], password);
  }
}

/**
 * Operator hooks as a rotation target, for credentials strongroom cannot change itself (a
 * keystone user's password, an appliance's API key). Hooks run from their argv without a
 * shell; the value reaches them on stdin only, as one line (the value and a newline).
 *
 * - `apply` runs the apply hook with `next`; `rollback` runs it with `current`; `retire` has
 *   nothing to do (overlap "none": the hook replaces the value).
 * - `accepts(value)` runs the verify hook with the candidate: exit 0 = accepted, any other
 *   exit = refused; a hook that cannot start or runs past the deadline is an error.
 * - Without a verify hook nothing outside can be asked, so `accepts` answers only from this
 *   process's own record: true for the value of the last successful apply (or rollback). A
 *   rotation resumed by another process therefore cannot verify a verify-less target and
 *   stops: give such targets a verify hook.
 *
 * Hook failures are one line: the exit code and the hook's last stderr line, with every value
 * of the rotation blanked out in case the hook echoed one.
 */
import { createHash } from "node:crypto";
import type { SecretTarget } from "../../../src/config/manifest-types.js";
import { showArgv } from "../../../src/lib/run-argv.js";
import type { RotationTarget, RotationValues, TargetDescription } from "../../types.js";
import { lastLine, runWithInput } from "../run-with-input.js";
import { redact, targetError } from "../target-error.js";

export type CommandSecretTarget = Extract<SecretTarget, { kind: "command" }>;

export const DEFAULT_HOOK_TIMEOUT_SECONDS = 30;

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest("hex");

export class CommandTarget implements RotationTarget {
  readonly driver = "command";
  /** SHA-256 of the value the last successful apply/rollback set: no copy of the value kept. */
  private appliedDigest: string | undefined;

  constructor(private readonly spec: CommandSecretTarget) {}

  describe(): TargetDescription {
    return { kind: "command", accounts: [`hook ${showArgv(this.spec.apply)}`], overlap: "none" };
  }

  async accepts(password: string): Promise<boolean> {
    if (!this.spec.verify) return this.appliedDigest === digest(password);
    const result = await this.runHook("verify", this.spec.verify, password, [password]);
    return result.code === 0;
  }

  async apply(values: RotationValues): Promise<void> {
    await this.set("apply", values.next, values);
  }

  async retire(_values: RotationValues): Promise<void> {
    // The apply hook replaced the value: nothing of the old one is left to remove.
  }

  async rollback(values: RotationValues): Promise<void> {
    await this.set("rollback", values.current, values);
  }

  private async set(step: "apply" | "rollback", value: string, values: RotationValues) {
    const secrets = [values.current, values.next, ...(values.previous ? [values.previous] : [])];
    const result = await this.runHook(step, this.spec.apply, value, secrets);
    if (result.code !== 0) {
      this.appliedDigest = undefined;
      throw targetError(
        `${step} hook ${this.spec.apply[0]} failed (exit ${result.code ?? "by signal"})${this.detail(result.stderr, secrets)}`,
      );
    }
    this.appliedDigest = digest(value);
  }

  /** Runs a hook with `input` on stdin; throws (one line) when it cannot start or times out. */
  private async runHook(
    step: string,
    argv: readonly string[],
    input: string,
    secrets: readonly string[],
  ) {
    const seconds = this.spec.timeoutSeconds ?? DEFAULT_HOOK_TIMEOUT_SECONDS;
    let result: Awaited<ReturnType<typeof runWithInput>>;
    try {
      result = await runWithInput(argv, { input: `${input}\n`, timeoutMs: seconds * 1000 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      throw targetError(`${step} hook ${argv[0]} cannot be started (${code})`);
    }
    if (result.timedOut) {
      throw targetError(
        `${step} hook ${argv[0]} timed out after ${seconds} s${this.detail(result.stderr, secrets)}`,
      );
    }
    return result;
  }

  private detail(stderr: string, secrets: readonly string[]): string {
    const line = lastLine(redact(stderr, secrets));
    return line ? `: ${line}` : "";
  }
}

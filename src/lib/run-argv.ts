/**
 * Runs a command (a restart or health-check hook, rabbitmqctl, a target hook) from its argv,
 * never through a shell, with a deadline, in its own process group. A secret goes on stdin
 * (`input`): argv and the environment are visible to every local user (/proc/<pid>/cmdline and
 * environ), a pipe is not. stdout is kept up to 1 MiB (rabbitmqctl's JSON listings), stderr's
 * tail is kept: enough to explain a failure in one line without buffering a chatty command.
 * The environment is an allow-list: strongroom's own may hold credentials (VAULT_TOKEN).
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";

export interface RunArgvOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
  /** Set for the command, on top of the inherited allow-list (see childEnvironment). */
  env?: Readonly<Record<string, string>>;
  /** Further variables of strongroom's own environment the command needs, by name. */
  inherit?: RegExp;
}

/** What every command inherits: enough to find programs, run them as this user, speak the locale. */
const INHERITED = /^(PATH|HOME|USER|LOGNAME|TZ|TMPDIR|XDG_RUNTIME_DIR|LANG|LANGUAGE|LC_[A-Z_]+)$/;

/** The allow-listed part of this process's environment, plus `extra`. */
export function childEnvironment(
  extra: Readonly<Record<string, string>> = {},
  inherit?: RegExp,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (INHERITED.test(name) || inherit?.test(name))) env[name] = value;
  }
  return { ...env, ...extra };
}

export interface RunArgvResult {
  /** The exit code; null when the process died of a signal. */
  code: number | null;
  /** Why it did not finish: our deadline, the caller's abort signal, or neither. */
  stopped?: "timeout" | "aborted";
  /** The first MiB of stdout. */
  stdout: string;
  /** The last 4 KiB of stderr. */
  stderr: string;
  lastStdoutLine: string;
  lastStderrLine: string;
}

const TAIL_BYTES = 4096;
const STDOUT_LIMIT = 1024 * 1024;
const KILL_GRACE_MS = 2000;
/** A command that starts a daemon may leave it holding our pipes: stop reading soon after exit. */
const PIPE_DRAIN_MS = 200;
const LINE_LIMIT = 200;

/** `text`'s last non-empty line, control characters dropped, cut to a readable length. */
export function lastLine(text: string, limit = LINE_LIMIT): string {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const line = (lines.at(-1) ?? "").replace(/[\u0000-\u001f\u007f]/g, " ").trim();
  return line.length > limit ? `${line.slice(0, limit)}...` : line;
}

/** argv as a reader would type it; for messages only. */
export const showArgv = (argv: readonly string[]): string =>
  argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(" ");

const BRIEF_ARGV_LIMIT = 80;

/** argv for a one-line message whose reason must survive: the program's base name, and the
 * arguments cut to a readable length (the full command is in the manifest). */
export function briefArgv(argv: readonly string[]): string {
  const [program = "", ...rest] = argv;
  const shown = showArgv([program.split("/").at(-1) ?? program, ...rest]);
  return shown.length > BRIEF_ARGV_LIMIT ? `${shown.slice(0, BRIEF_ARGV_LIMIT)}…` : shown;
}

/** How a command that ran to its end exited, for messages: its code and last stderr line. */
export function describeExit(result: RunArgvResult): string {
  const exit = result.code === null ? "was killed by a signal" : `exited with code ${result.code}`;
  return result.lastStderrLine === "" ? exit : `${exit}: ${result.lastStderrLine}`;
}

class Head {
  text = "";
  add(chunk: Buffer): void {
    if (this.text.length < STDOUT_LIMIT) this.text += chunk.toString("utf8");
  }
}

class Tail {
  text = "";
  add(chunk: Buffer): void {
    this.text = (this.text + chunk.toString("utf8")).slice(-TAIL_BYTES);
  }
}

/**
 * Resolves when the command exits (or was stopped: SIGTERM to its process group, SIGKILL
 * after a grace period). Rejects only when it cannot be started (ENOENT, EACCES).
 */
export function runArgv(argv: readonly string[], options: RunArgvOptions): Promise<RunArgvResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error("empty command"));
  return new Promise((resolve, reject) => {
    const stdout = new Head();
    const stderr = new Tail();
    let stopped: RunArgvResult["stopped"];
    // Its own process group, so a timeout also stops whatever the command started in it.
    const stdin = options.input === undefined ? "ignore" : "pipe";
    const child = spawn(file, args, {
      stdio: [stdin, "pipe", "pipe"],
      detached: true,
      env: childEnvironment(options.env, options.inherit),
    }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
    child.stdout.on("data", (chunk: Buffer) => stdout.add(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.add(chunk));
    if (child.stdin) {
      // A command may exit without reading its stdin; that EPIPE is not a failure of ours.
      child.stdin.on("error", () => {});
      child.stdin.end(options.input);
    }

    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: NonNullable<RunArgvResult["stopped"]>) => {
      if (stopped) return;
      stopped = why;
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), KILL_GRACE_MS);
    };
    const deadline = setTimeout(() => stop("timeout"), options.timeoutMs);
    const onAbort = () => stop("aborted");
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const cleanUp = () => {
      clearTimeout(deadline);
      clearTimeout(killTimer);
      options.signal?.removeEventListener("abort", onAbort);
    };

    child.once("error", (error) => {
      cleanUp();
      reject(error);
    });
    child.once("exit", (code) => {
      cleanUp();
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({
          code,
          ...(stopped && { stopped }),
          stdout: stdout.text.slice(0, STDOUT_LIMIT),
          stderr: stderr.text,
          lastStdoutLine: lastLine(stdout.text),
          lastStderrLine: lastLine(stderr.text),
        });
      };
      const drained = setTimeout(finish, PIPE_DRAIN_MS);
      child.once("close", () => {
        clearTimeout(drained);
        finish();
      });
    });
  });
}

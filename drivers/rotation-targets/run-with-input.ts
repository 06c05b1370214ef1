/**
 * Runs a target's command (rabbitmqctl, an operator hook) from its argv, without a shell, with
 * the secret on stdin: argv and the environment are visible to every local user
 * (/proc/<pid>/cmdline, /proc/<pid>/environ of the same uid), a pipe is not.
 */
import { spawn } from "node:child_process";

export interface RunWithInputOptions {
  /** Written to stdin, which is then closed (closed at once when absent). */
  input?: string;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

export interface RunWithInputResult {
  /** The exit code; null when the process died of a signal (or was stopped at the deadline). */
  code: number | null;
  timedOut: boolean;
  /** Up to the first MiB: enough for the JSON listings rabbitmqctl prints. */
  stdout: string;
  /** The last 4 KiB: enough to explain a failure. */
  stderr: string;
}

const STDOUT_LIMIT = 1024 * 1024;
const STDERR_TAIL = 4096;
const KILL_GRACE_MS = 2000;
const PIPE_DRAIN_MS = 200;

/** Rejects only when the command cannot be started (ENOENT, EACCES). */
export function runWithInput(
  argv: readonly string[],
  options: RunWithInputOptions,
): Promise<RunWithInputResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error("empty command"));
  return new Promise((resolve, reject) => {
    // Its own process group, so the deadline also stops whatever the command started.
    const child = spawn(file, args, {
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
      env: options.env ?? process.env,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      if (stdout.length < STDOUT_LIMIT) stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_TAIL);
    });
    // A command may exit without reading its stdin; that EPIPE is not a failure of ours.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input ?? "");

    let timedOut = false;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      timedOut = true;
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), KILL_GRACE_MS);
    }, options.timeoutMs);

    child.once("error", (error) => {
      clearTimeout(deadline);
      clearTimeout(killTimer);
      reject(error);
    });
    child.once("exit", (code) => {
      clearTimeout(deadline);
      clearTimeout(killTimer);
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ code, timedOut, stdout: stdout.slice(0, STDOUT_LIMIT), stderr });
      };
      // A command that started a daemon may leave it holding our pipes: stop reading soon.
      const drained = setTimeout(finish, PIPE_DRAIN_MS);
      child.once("close", () => {
        clearTimeout(drained);
        finish();
      });
    });
  });
}

/** The last non-empty line of `text`, control characters dropped, cut to a readable length. */
export function lastLine(text: string, limit = 200): string {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const line = (lines.at(-1) ?? "").replace(/[\u0000-\u001f\u007f]/g, " ").trim();
  return line.length > limit ? `${line.slice(0, limit)}...` : line;
}

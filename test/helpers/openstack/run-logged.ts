import { readFileSync } from "node:fs";
import { basePythonEnv } from "../python.js";
import { spawnToLog } from "../servers.js";

export interface RunLoggedOptions {
  cwd: string;
  /** stdout and stderr are appended here (never to the test's output). */
  log: string;
  /** Merged over basePythonEnv(); secrets go here or on stdin, never in argv. */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Applied to the log excerpt in the error. */
  redact?: (text: string) => string;
}

/**
 * Runs one OpenStack tool (keystone-manage, placement-manage) to completion in its own process
 * group, output to `log`. Rejects on a non-zero exit or a timeout with the log's last lines,
 * redacted: Keystone's tools print the database URL, password included, in some errors.
 */
export function runLogged(argv: string[], options: RunLoggedOptions): Promise<void> {
  const { cwd, log, env = {}, timeoutMs = 120_000, redact = (t: string) => t } = options;
  const child = spawnToLog(argv, { cwd, env: { ...basePythonEnv(), ...env }, log });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone
      }
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${argv[0]}: ${error.message}`));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve();
        return;
      }
      // oslo.log's CRITICAL line names the error in one line; the ERROR lines after it are its
      // traceback. (What follows them at exit is eventlet's shutdown noise.)
      const lines = readFileSync(log, "utf8").trim().split("\n");
      const critical = lines.filter((l) => / CRITICAL /.test(l));
      const errors = lines.filter((l) => / ERROR /.test(l));
      const picked = critical.length > 0 ? critical : errors.length > 0 ? errors : lines;
      const excerpt = redact(picked.slice(-4).join("\n"));
      reject(new Error(`${argv.join(" ")} exited ${code ?? signal} (log ${log}):\n${excerpt}`));
    });
  });
}

/**
 * Runs Debian's Python clients (hvac, oslo.config, castellan, PyMySQL, amqp) as subprocesses.
 *
 * Always Debian's interpreter, never the `python3` on PATH: a pyenv or venv python may shadow
 * it and would not see the python3-* packages. The child gets a minimal environment (no
 * VAULT_TOKEN, VAULT_ADDR, proxies or PYTHON* variables from the parent, user site-packages
 * off) and a HOME that does not exist, so hvac cannot pick up a stray ~/.vault-token.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { isAbsolute, join } from "node:path";
import { describeNeeding } from "./describe-needing.js";
import { REPO_ROOT } from "./repo-root.js";

export const DEBIAN_PYTHON = "/usr/bin/python3";

export { REPO_ROOT };

export interface RunPythonOptions {
  /** Merged over the minimal base environment. */
  env?: Record<string, string>;
  /** Written to the child's stdin, which is then closed (closed at once when absent). */
  input?: string;
  /** Kill (SIGKILL) and reject after this long; default 30 s. */
  timeoutMs?: number;
  /** Working directory; default the repository root. */
  cwd?: string;
}

export interface PythonResult {
  /** Exit code; 128 + signal number when the child died from a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * HOME for Python children: a directory that does not exist, as Debian gives system users. No
 * ~/.vault-token, ~/.my.cnf or ~/.<project>/ config file can leak in, and nothing is left behind.
 */
export const PYTHON_HOME = "/nonexistent";

/** The environment every Python child starts from; nothing is inherited from the parent. */
export function basePythonEnv(): Record<string, string> {
  return {
    PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: PYTHON_HOME,
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    TZ: "UTC",
    PYTHONIOENCODING: "utf-8",
    PYTHONUNBUFFERED: "1",
    PYTHONNOUSERSITE: "1",
    PYTHONDONTWRITEBYTECODE: "1",
  };
}

/**
 * `script` is either a path to a `.py` file (single line ending in `.py`; relative paths are
 * taken from the repository root) or Python source run with `-c`. `args` become sys.argv[1:].
 * Resolves with the exit code and output; rejects only when the child cannot be started or
 * runs past the timeout.
 */
export async function runPython(
  script: string,
  args: string[],
  opts: RunPythonOptions = {},
): Promise<PythonResult> {
  const { env = {}, input, timeoutMs = 30_000, cwd = REPO_ROOT } = opts;
  const isFile = !script.includes("\n") && script.trim().endsWith(".py");
  const argv = isFile
    ? [isAbsolute(script) ? script : join(REPO_ROOT, script), ...args]
    : ["-c", script, ...args];

  const child = spawn(DEBIAN_PYTHON, argv, {
    cwd,
    env: { ...basePythonEnv(), ...env },
    stdio: ["pipe", "pipe", "pipe"],
    shell: false,
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  // The child may exit without reading its stdin; that EPIPE is not our failure.
  child.stdin.on("error", () => {});
  child.stdin.end(input ?? "");

  return new Promise<PythonResult>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${DEBIAN_PYTHON}: ${err.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      const out = Buffer.concat(stdout).toString("utf8");
      const err = Buffer.concat(stderr).toString("utf8");
      if (timedOut) {
        const tail = err.trim().split("\n").slice(-10).join("\n");
        reject(
          new Error(
            `${DEBIAN_PYTHON} ${isFile ? script : "-c <script>"} timed out after ${timeoutMs} ms` +
              (tail ? `; stderr ends with:\n${tail}` : ""),
          ),
        );
        return;
      }
      const exitCode = code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);
      resolve({ code: exitCode, stdout: out, stderr: err });
    });
  });
}

/**
 * runPython for a script that prints one JSON object on stdout: resolves with the raw result
 * and the parsed output; rejects (showing the ends of stdout and stderr) when stdout is not JSON.
 */
export async function runPythonJson<T>(
  script: string,
  args: string[],
  opts: RunPythonOptions = {},
): Promise<{ result: PythonResult; output: T }> {
  const result = await runPython(script, args, opts);
  let output: T;
  try {
    output = JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(
      `${script} printed no JSON (exit ${result.code}); stdout:\n${result.stdout.slice(-2000)}\n` +
        `stderr:\n${result.stderr.slice(-4000)}`,
    );
  }
  return { result, output };
}

const moduleCache = new Map<string, string | null>();

/** Debian package names by Python module, from scripts/system-deps.json (for error messages). */
function packageOfModule(): Map<string, string> {
  const file = join(REPO_ROOT, "scripts", "system-deps.json");
  const map = new Map<string, string>();
  try {
    const { packages } = JSON.parse(readFileSync(file, "utf8")) as {
      packages?: { package: string; python?: string[] }[];
    };
    for (const p of packages ?? []) for (const m of p.python ?? []) map.set(m, p.package);
  } catch {
    // names only improve the message
  }
  return map;
}

/**
 * Synchronously checks that every module imports with Debian's python (results are cached
 * per module for the worker's lifetime).
 */
export function requirePythonModules(
  modules: string[],
): { ok: true } | { ok: false; reason: string } {
  if (!existsSync(DEBIAN_PYTHON)) {
    return { ok: false, reason: `${DEBIAN_PYTHON} not found (apt-get install python3)` };
  }
  const unknown = modules.filter((m) => !moduleCache.has(m));
  if (unknown.length > 0) {
    const probe = [
      "import importlib, json, sys",
      "bad = {}",
      "for m in sys.argv[1:]:",
      "    try:",
      "        importlib.import_module(m)",
      "    except BaseException as e:",
      "        bad[m] = type(e).__name__ + ': ' + str(e)",
      "print(json.dumps(bad))",
    ].join("\n");
    const r = spawnSync(DEBIAN_PYTHON, ["-c", probe, ...unknown], {
      cwd: REPO_ROOT,
      env: basePythonEnv(),
      encoding: "utf8",
      timeout: 60_000,
    });
    if (r.error || r.status !== 0) {
      const why = r.error ? r.error.message : (r.stderr.trim().split("\n").pop() ?? "");
      return { ok: false, reason: `${DEBIAN_PYTHON} failed to check modules: ${why}` };
    }
    const lines = r.stdout.trim().split("\n");
    const bad = JSON.parse(lines[lines.length - 1] ?? "{}") as Record<string, string>;
    for (const m of unknown) moduleCache.set(m, bad[m] ?? null);
  }
  const failures = modules.flatMap((m) => {
    const why = moduleCache.get(m);
    return why ? [{ module: m, why }] : [];
  });
  if (failures.length === 0) return { ok: true };
  const packages = packageOfModule();
  const names = [...new Set(failures.flatMap((f) => packages.get(f.module) ?? []))];
  const unlisted = failures.filter((f) => !packages.has(f.module)).map((f) => f.module);
  const fix = [
    names.length > 0
      ? `install: apt-get install -y --no-install-recommends ${names.join(" ")}`
      : "",
    unlisted.length > 0 ? `add ${unlisted.join(", ")} to scripts/system-deps.json` : "",
  ].filter(Boolean);
  return {
    ok: false,
    reason: `Debian python cannot import ${failures.map((f) => `${f.module} (${f.why})`).join(", ")}; ${fix.join("; ")}`,
  };
}

/**
 * `describe` that needs Debian Python modules. When they are missing the suite fails under
 * CI=true (one failing test with the reason) and is skipped, with the reason printed, elsewhere.
 */
export function describeWithPython(modules: string[], name: string, fn: () => void): void {
  const check = requirePythonModules(modules);
  const missing = check.ok ? undefined : check.reason;
  describeNeeding(`Debian Python modules ${modules.join(", ")}`, missing, ".ci/run", name, fn);
}

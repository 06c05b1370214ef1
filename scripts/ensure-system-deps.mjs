#!/usr/bin/env node
// Checks that the Debian packages the test suite needs are usable (npm test's pretest).
//
// The list lives in scripts/system-deps.json (also read by .ci/run). Python modules are
// imported with Debian's /usr/bin/python3 in isolated mode, never with the `python3` on PATH
// (a pyenv or venv interpreter may shadow it). When something is missing and we run as root,
// the missing packages are installed with apt-get and checked again; otherwise we exit 1 with
// one line naming them and the command to run.
//
// STRONGROOM_SKIP_SYSTEM_DEPS=1 skips the check (the suites that need the packages then skip
// themselves outside CI and fail under CI=true).
import { spawnSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const DEBIAN_PYTHON = "/usr/bin/python3";
export const SYSTEM_DEPS_FILE = join(dirname(fileURLToPath(import.meta.url)), "system-deps.json");
const BIN_DIRS = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];
const TAG = "[ensure-system-deps]";
const SAFE_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", LC_ALL: "C.UTF-8" };

/** @returns {{package: string, python?: string[], binaries?: string[][]}[]} */
export function readSystemDeps(file = SYSTEM_DEPS_FILE) {
  const parsed = JSON.parse(readFileSync(file, "utf8"));
  if (!Array.isArray(parsed.packages)) throw new Error(`${file}: "packages" must be an array`);
  return parsed.packages;
}

/** Module name -> failure text, for each module that does not import with Debian's python. */
function brokenPythonModules(modules) {
  if (modules.length === 0) return {};
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
  const r = spawnSync(DEBIAN_PYTHON, ["-I", "-c", probe, ...modules], {
    env: SAFE_ENV,
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    return Object.fromEntries(modules.map((m) => [m, `${DEBIAN_PYTHON} unusable (${why})`]));
  }
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1] ?? "{}");
}

function findExecutable(names) {
  for (const dir of BIN_DIRS) {
    for (const name of names) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // try the next candidate
      }
    }
  }
  return undefined;
}

/** @returns {{package: string, why: string}[]} the packages that are not usable. */
export function missingSystemDeps(deps = readSystemDeps()) {
  const broken = brokenPythonModules(deps.flatMap((d) => d.python ?? []));
  const missing = [];
  for (const dep of deps) {
    const why = [];
    for (const m of dep.python ?? []) if (broken[m]) why.push(`import ${m}: ${broken[m]}`);
    for (const names of dep.binaries ?? []) {
      if (!findExecutable(names)) why.push(`no ${names.join(" or ")} in ${BIN_DIRS.join(", ")}`);
    }
    if (why.length > 0) missing.push({ package: dep.package, why: why.join("; ") });
  }
  return missing;
}

function dpkgInstalled(pkg) {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a dpkg-query format, not JavaScript
  const r = spawnSync("dpkg-query", ["-W", "-f=${db:Status-Status}", pkg], {
    env: SAFE_ENV,
    encoding: "utf8",
  });
  return r.status === 0 && r.stdout.trim() === "installed";
}

function aptGet(args) {
  const r = spawnSync("apt-get", args, {
    env: { ...SAFE_ENV, DEBIAN_FRONTEND: "noninteractive" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (r.error) throw new Error(`apt-get ${args[0]}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`apt-get ${args.join(" ")} exited ${r.status ?? r.signal}`);
}

function installCommand(packages) {
  return `apt-get update && apt-get install -y --no-install-recommends ${packages.join(" ")}`;
}

function main() {
  if (process.env.STRONGROOM_SKIP_SYSTEM_DEPS === "1") {
    console.log(`${TAG} skipped (STRONGROOM_SKIP_SYSTEM_DEPS=1)`);
    return 0;
  }
  const deps = readSystemDeps();
  let missing = missingSystemDeps(deps);
  if (missing.length > 0 && process.getuid?.() === 0) {
    const names = missing.map((m) => m.package);
    console.error(`${TAG} installing missing Debian packages: ${names.join(" ")}`);
    try {
      aptGet(["update"]);
      aptGet(["install", "-y", "--no-install-recommends", ...names]);
    } catch (err) {
      console.error(`${TAG} ${err.message}`);
      return 1;
    }
    missing = missingSystemDeps(deps);
    for (const m of missing)
      console.error(`${TAG} still unusable after install: ${m.package}: ${m.why}`);
  } else {
    // Merely absent packages need no explanation; installed-but-broken ones do.
    for (const m of missing) {
      if (dpkgInstalled(m.package))
        console.error(`${TAG} ${m.package} is installed but unusable: ${m.why}`);
    }
  }
  if (missing.length > 0) {
    const names = missing.map((m) => m.package);
    console.error(
      `${TAG} missing Debian packages: ${names.join(" ")} — run as root: ${installCommand(names)}`,
    );
    return 1;
  }
  console.log(`${TAG} OK: ${deps.map((d) => d.package).join(" ")}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main();
}

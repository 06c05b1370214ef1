// bin/container-entrypoint.sh (the image's ENTRYPOINT) run as a plain command, with the
// environment and arguments the chart's Deployment and bootstrap Job give it. There is no
// container engine here: this is what the container would run, minus the image.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chartCopies, type HelmResult, helmRunner, parseObjects } from "../helpers/helm.js";
import { REPO_ROOT } from "../helpers/repo-root.js";

const ENTRYPOINT = join(REPO_ROOT, "bin", "container-entrypoint.sh");
const STRONGROOM = join(REPO_ROOT, "bin", "strongroom.js");
const BASE_ENV = { PATH: process.env["PATH"] ?? "/usr/bin:/bin", LANG: "C.UTF-8" };
/**
 * Preloaded by node before strongroom's own code (no spaces: NODE_OPTIONS splits on them):
 * prints node's pid, argv and STRONGROOM_* environment, then exits. It shows what the
 * entrypoint exec'd, without needing the Vault the command would otherwise contact.
 */
const REPORT_AND_EXIT =
  "--import=data:text/javascript,console.log(JSON.stringify({pid:process.pid,argv:process.argv.slice(1),env:Object.fromEntries(Object.entries(process.env).filter(([k])=>k.startsWith('STRONGROOM_')))}));process.exit(0)";

interface Exec {
  pid: number;
  argv: string[];
  env: Record<string, string>;
}

interface Container {
  args: string[];
  env: Record<string, string>;
}

let home: string;
let broker: Container;
let bootstrap: Container;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "strongroom-entrypoint-"));
  const helm: (args: string[]) => HelmResult = await helmRunner(home);
  const r = helm(["template", "sr", chartCopies(home).renderable]);
  expect(r.status, r.stderr).toBe(0);
  const containerOf = (kind: string): Container => {
    const obj = parseObjects(r.stdout).find((o) => o.kind === kind) as unknown as {
      spec: { template: { spec: { containers: Array<{ args: string[]; env?: unknown[] }> } } };
    };
    const [container] = obj.spec.template.spec.containers;
    if (!container) throw new Error(`${kind} has no container`);
    const env = (container.env ?? []) as Array<{ name: string; value?: string }>;
    // Values from Secrets (VAULT_TOKEN) are not the entrypoint's business: left out.
    const plain = env.filter((e) => e.value !== undefined) as Array<{
      name: string;
      value: string;
    }>;
    return { args: container.args, env: Object.fromEntries(plain.map((e) => [e.name, e.value])) };
  };
  broker = containerOf("Deployment");
  bootstrap = containerOf("Job");
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** Runs the entrypoint with node reporting what it was exec'd with; resolves with the report. */
function runReporting(
  args: string[],
  env: Record<string, string>,
): Promise<Exec & { shellPid: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ENTRYPOINT, args, {
      env: { ...BASE_ENV, ...env, NODE_OPTIONS: REPORT_AND_EXIT },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`exit ${code}: ${stderr}`));
      resolve({ ...(JSON.parse(stdout) as Exec), shellPid: child.pid ?? -1 });
    });
  });
}

describe("container entrypoint", () => {
  it("with the Deployment's env and args it execs `strongroom serve` in place (same pid), env intact", async () => {
    expect(broker.args).toEqual(["serve"]);
    const exec = await runReporting(broker.args, broker.env);
    expect(exec.pid).toBe(exec.shellPid);
    expect(exec.argv).toEqual([STRONGROOM, "serve"]);
    expect(exec.env).toEqual(broker.env);
    expect(Object.keys(exec.env)).toEqual(
      expect.arrayContaining(["STRONGROOM_VAULT_ADDR", "STRONGROOM_MANIFEST", "STRONGROOM_LISTEN"]),
    );
  });

  it("with no arguments (the image's CMD left out) it runs serve", async () => {
    const exec = await runReporting([], broker.env);
    expect(exec.argv).toEqual([STRONGROOM, "serve"]);
  });

  it("with the bootstrap Job's args it execs `strongroom bootstrap` with exactly those flags", async () => {
    expect(bootstrap.args[0]).toBe("bootstrap");
    const exec = await runReporting(bootstrap.args, bootstrap.env);
    expect(exec.pid).toBe(exec.shellPid);
    expect(exec.argv).toEqual([STRONGROOM, ...bootstrap.args]);
  });

  it("`serve --help` through the entrypoint answers exactly as bin/strongroom.js does", () => {
    const through = spawnSync(ENTRYPOINT, ["serve", "--help"], { env: BASE_ENV, encoding: "utf8" });
    const direct = spawnSync(process.execPath, [STRONGROOM, "serve", "--help"], {
      env: BASE_ENV,
      encoding: "utf8",
    });
    expect(through.status).toBe(direct.status);
    expect(through.stdout).toBe(direct.stdout);
    expect(through.stderr).toBe(direct.stderr);
    expect(through.stdout).toContain("Usage: strongroom");
  });

  it("refuses any other command with one usage line and exit 2", () => {
    const r = spawnSync(ENTRYPOINT, ["sh"], { env: BASE_ENV, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(
      "STRONGROOM_ERR_USAGE: the image runs `serve` (the default) or `bootstrap`, not `sh`\n",
    );
  });
});

/** The Containerfile's stages: each FROM line and the instructions under it. */
function containerfileStages(): Array<{ from: string; lines: string[] }> {
  const text = readFileSync(join(REPO_ROOT, "Containerfile"), "utf8").replace(/\\\n/g, " ");
  const stages: Array<{ from: string; lines: string[] }> = [];
  for (const line of text.split("\n").filter((l) => l.trim() && !l.startsWith("#"))) {
    if (line.startsWith("FROM ")) stages.push({ from: line, lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

describe("Containerfile (no container engine here: its text is checked)", () => {
  it("ends in a Node 20 bookworm-slim stage running as uid 10001 through the entrypoint, without a toolchain", () => {
    const text = readFileSync(join(REPO_ROOT, "Containerfile"), "utf8");
    expect(text).toMatch(/^ARG NODE_IMAGE=docker\.io\/library\/node:20-bookworm-slim$/m);
    const final = containerfileStages().at(-1);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Containerfile ARG reference
    expect(final?.from).toBe("FROM ${NODE_IMAGE}");
    const lines = final?.lines ?? [];
    expect(lines).toContain("USER 10001:10001");
    expect(lines).toContain('ENTRYPOINT ["/app/bin/container-entrypoint.sh"]');
    expect(lines.join("\n")).not.toMatch(/apt-get install|g\+\+|npm (ci|install)/);
    const prodDeps = containerfileStages().find((s) => s.from.includes(" AS prod-deps"));
    expect(prodDeps?.lines.join("\n")).toContain("npm ci --omit=dev");
    expect(lines).toContain("COPY --from=prod-deps /app/node_modules ./node_modules");
  });

  it("copies only paths that exist and that .containerignore lets into the build context", () => {
    const allowed = readFileSync(join(REPO_ROOT, ".containerignore"), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("!"))
      .map((l) => l.slice(1).replace(/\/$/, ""));
    const sources = containerfileStages()
      .flatMap((s) => s.lines)
      .filter((l) => l.startsWith("COPY ") && !l.startsWith("COPY --from"))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
      expect(allowed, source).toContain(source);
    }
    expect(allowed).toContain("bin");
  });
});

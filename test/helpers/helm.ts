import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments, stringify } from "yaml";
import { ensureHelm } from "../../scripts/ensure-helm.mjs";
import { REPO_ROOT } from "./repo-root.js";

export const CHART_DIR = join(REPO_ROOT, "charts", "strongroom");

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A rendered Kubernetes object (only the fields every object has are typed). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/**
 * Runs the helm that scripts/ensure-helm.mjs extracts, with its cache, config and data dirs
 * in `home` (never the user's). No network is needed nor used.
 */
export async function helmRunner(home: string): Promise<(args: string[]) => HelmResult> {
  const helm = await ensureHelm();
  const env = {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: home,
    HELM_CACHE_HOME: join(home, "cache"),
    HELM_CONFIG_HOME: join(home, "config"),
    HELM_DATA_HOME: join(home, "data"),
  };
  return (args) => {
    const r = spawnSync(helm, args, { env, encoding: "utf8", timeout: 60_000 });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}

/**
 * Copies the chart into `dir` twice: `declared`, exactly as committed (its optional openbao
 * dependency declared, charts/ not fetched: this repository has no network), and `renderable`,
 * the same chart with the dependency entry removed. With openbao.enabled false both render the
 * same objects once the dependency is fetched; helm 4 only refuses to render `declared`
 * because charts/openbao is absent, whatever the condition says.
 */
export function chartCopies(dir: string): { declared: string; renderable: string } {
  const declared = join(dir, "declared", "strongroom");
  const renderable = join(dir, "renderable", "strongroom");
  for (const target of [declared, renderable]) {
    mkdirSync(target, { recursive: true });
    cpSync(CHART_DIR, target, {
      recursive: true,
      filter: (src) => !src.startsWith(join(CHART_DIR, "charts")),
    });
  }
  const chartFile = join(renderable, "Chart.yaml");
  const chart = parse(readFileSync(chartFile, "utf8")) as Record<string, unknown>;
  delete chart["dependencies"];
  writeFileSync(chartFile, stringify(chart));
  return { declared, renderable };
}

/** The objects of a `helm template` output. */
export function parseObjects(manifests: string): KubeObject[] {
  return parseAllDocuments(manifests)
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((obj): obj is KubeObject => obj !== null);
}

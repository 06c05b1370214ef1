/**
 * A real Placement (Debian's python3-placement) for the OpenStack harness. Placement reads ONLY
 * `$OS_PLACEMENT_CONFIG_DIR/placement.conf` (its WSGI app parses an empty argv, so no
 * `--config-file` reaches oslo.config): the kit's oslo-sources.conf is appended to that one
 * file, after the node-local settings (oslo.config merges the repeated [DEFAULT]).
 * placement-manage takes the same file with `--config-file`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runLogged } from "./run-logged.js";
import { startWsgiProcess, type WsgiProcess, type WsgiStartOptions } from "./wsgi-process.js";

export const PLACEMENT_WSGI = "/usr/bin/placement-api";
export const PLACEMENT_MANAGE = "/usr/bin/placement-manage";

export interface PlacementNode {
  readonly dir: string;
  /** $dir/placement.conf: local settings, then the kit's oslo-sources.conf. */
  readonly configFile: string;
}

/** Node-local settings only: every option Placement needs comes from strongroom. */
export const LOCAL_PLACEMENT_CONF = [
  "# Node-local settings only: every other option comes from strongroom (the kit's",
  "# oslo-sources.conf, appended below: Placement reads no other file).",
  "[DEFAULT]",
  "use_stderr = true",
  "",
].join("\n");

export function preparePlacementNode(dir: string, kitDir: string): PlacementNode {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const configFile = join(dir, "placement.conf");
  const sources = readFileSync(join(kitDir, "oslo-sources.conf"), "utf8");
  writeFileSync(configFile, `${LOCAL_PLACEMENT_CONF}\n${sources}`, { mode: 0o600 });
  return { dir, configFile };
}

/** placement-manage with the node's placement.conf; output to placement-manage.log. */
export function placementManage(
  node: PlacementNode,
  args: string[],
  options: { redact?: (text: string) => string } = {},
): Promise<void> {
  return runLogged([PLACEMENT_MANAGE, "--config-file", node.configFile, ...args], {
    cwd: node.dir,
    log: join(node.dir, "placement-manage.log"),
    env: { OS_PLACEMENT_CONFIG_DIR: node.dir },
    ...(options.redact && { redact: options.redact }),
  });
}

export function startPlacement(
  node: PlacementNode,
  options: WsgiStartOptions,
): Promise<WsgiProcess> {
  return startWsgiProcess({
    ...options,
    script: PLACEMENT_WSGI,
    dir: node.dir,
    env: { OS_PLACEMENT_CONFIG_DIR: node.dir },
    // The version document: no token needed.
    ready: { path: "/" },
  });
}

/** Placement's API with a token; `microversion` defaults to 1.20 (POST answers the provider). */
export function placementApi(baseUrl: string, token: string, microversion = "1.20") {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        "x-auth-token": token,
        "openstack-api-version": `placement ${microversion}`,
        accept: "application/json",
        ...(body !== undefined && { "content-type": "application/json" }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // HAProxy's own 503 page, for one: not JSON
      parsed = { text: text.slice(0, 500) };
    }
    return { status: res.status, body: parsed };
  };
  return {
    call,
    createResourceProvider: (name: string) => call("POST", "/resource_providers", { name }),
    listResourceProviders: async () => {
      const answer = await call("GET", "/resource_providers");
      return {
        status: answer.status,
        providers: (answer.body["resource_providers"] ?? []) as Array<{
          uuid: string;
          name: string;
        }>,
      };
    },
  };
}

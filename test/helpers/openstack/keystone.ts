/**
 * A real Keystone (Debian's python3-keystone) for the OpenStack harness: one node dir per API
 * process with its key repositories and a local keystone.conf holding only node-local,
 * non-secret settings; every other option comes from strongroom through the service kit's
 * oslo-sources.conf. Keystone reads `OS_KEYSTONE_CONFIG_FILES="a.conf;b.conf"`; keystone-manage
 * takes `--config-file` twice.
 *
 * oslo.config's precedence is command line > environment > local files > config sources >
 * defaults: the local file must not set an option strongroom serves, or it would win.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runLogged } from "./run-logged.js";
import { startWsgiProcess, type WsgiProcess, type WsgiStartOptions } from "./wsgi-process.js";

export const KEYSTONE_WSGI = "/usr/bin/keystone-wsgi-public";
export const KEYSTONE_MANAGE = "/usr/bin/keystone-manage";

export interface KeyRepositories {
  /** The dir `strongroom files keystone --out` writes (the instance's `keys` in the manifest). */
  root: string;
  /** [fernet_tokens] key_repository (and [fernet_receipts]): files 0, 1, ... */
  fernetKeys: string;
  /** [credential] key_repository: files 0 and 1. */
  credentialKeys: string;
}

/**
 * Where a node's key repositories live: `strongroom files keystone --out <dir>/keys` writes them
 * there from KeystoneFernetKeys and KeystoneCredential0/1 (the manifest's keystone `files`).
 * Keystone's own `fernet_setup`/`credential_setup` would make keys strongroom does not know, so
 * they are never run.
 */
export function keyRepositories(dir: string): KeyRepositories {
  const root = join(dir, "keys");
  return {
    root,
    fernetKeys: join(root, "fernet-keys"),
    credentialKeys: join(root, "credential-keys"),
  };
}

export interface KeystoneNode {
  readonly dir: string;
  /** The local keystone.conf, then the kit's oslo-sources.conf. */
  readonly configFiles: readonly string[];
  readonly keys: KeyRepositories;
}

/** The local keystone.conf: logging and the key repositories' paths, nothing strongroom serves. */
export function localKeystoneConf(keys: KeyRepositories): string {
  return [
    "# Node-local settings only: every other option comes from strongroom (oslo-sources.conf).",
    "[DEFAULT]",
    "use_stderr = true",
    "",
    "[fernet_tokens]",
    `key_repository = ${keys.fernetKeys}`,
    "",
    // Receipts (MFA) use the token keys, as TripleO and kolla configure them. Their default is
    // /etc/keystone/fernet-keys/, and Keystone refuses to start when it does not exist.
    "[fernet_receipts]",
    `key_repository = ${keys.fernetKeys}`,
    "",
    "[credential]",
    `key_repository = ${keys.credentialKeys}`,
    "",
  ].join("\n");
}

/** Makes `dir` a Keystone node: its local keystone.conf (the key files come from strongroom). */
export function prepareKeystoneNode(dir: string, kitDir: string): KeystoneNode {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = keyRepositories(dir);
  const local = join(dir, "keystone.conf");
  writeFileSync(local, localKeystoneConf(keys), { mode: 0o600 });
  return { dir, configFiles: [local, join(kitDir, "oslo-sources.conf")], keys };
}

/** keystone-manage with the node's config files; output to keystone-manage.log in its dir. */
export function keystoneManage(
  node: KeystoneNode,
  args: string[],
  options: { env?: Record<string, string>; redact?: (text: string) => string } = {},
): Promise<void> {
  return runLogged(
    [KEYSTONE_MANAGE, ...node.configFiles.flatMap((f) => ["--config-file", f]), ...args],
    {
      cwd: node.dir,
      log: join(node.dir, "keystone-manage.log"),
      ...(options.env && { env: options.env }),
      ...(options.redact && { redact: options.redact }),
    },
  );
}

export interface BootstrapOptions {
  adminPassword: string;
  /** Public, internal and admin identity endpoints (the HAProxy frontend). */
  url: string;
  region?: string;
  redact?: (text: string) => string;
}

/** `keystone-manage bootstrap`: user, project and role admin, the identity service and its
 * endpoints. The password goes in OS_BOOTSTRAP_PASSWORD, never on the command line. */
export function bootstrapKeystone(node: KeystoneNode, options: BootstrapOptions): Promise<void> {
  return keystoneManage(
    node,
    [
      "bootstrap",
      "--bootstrap-username",
      "admin",
      "--bootstrap-project-name",
      "admin",
      "--bootstrap-role-name",
      "admin",
      "--bootstrap-service-name",
      "keystone",
      "--bootstrap-region-id",
      options.region ?? "RegionOne",
      "--bootstrap-public-url",
      options.url,
      "--bootstrap-internal-url",
      options.url,
      "--bootstrap-admin-url",
      options.url,
    ],
    {
      env: { OS_BOOTSTRAP_PASSWORD: options.adminPassword },
      ...(options.redact && { redact: options.redact }),
    },
  );
}

export function startKeystone(node: KeystoneNode, options: WsgiStartOptions): Promise<WsgiProcess> {
  return startWsgiProcess({
    ...options,
    script: KEYSTONE_WSGI,
    dir: node.dir,
    env: { OS_KEYSTONE_CONFIG_FILES: node.configFiles.join(";") },
    ready: { path: "/v3" },
  });
}

// ---------------------------------------------------------------------------------------------
// The identity API, as much of it as the harness needs.

export interface PasswordAuth {
  user: string;
  password: string;
  project: string;
  /** Domain of the user and the project; default "Default". */
  domain?: string;
}

export interface TokenAnswer {
  status: number;
  /** X-Subject-Token on 201. */
  token?: string;
  /** The token's body ({token: {user, project, roles, catalog...}}) on 201. */
  body?: { token: Record<string, unknown> };
}

/** POST /v3/auth/tokens with a password, scoped to a project. Never throws on a status. */
export async function issueToken(baseUrl: string, auth: PasswordAuth): Promise<TokenAnswer> {
  const domain = { name: auth.domain ?? "Default" };
  const res = await fetch(`${baseUrl}/v3/auth/tokens`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ["password"],
          password: { user: { name: auth.user, domain, password: auth.password } },
        },
        scope: { project: { name: auth.project, domain } },
      },
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== 201) return { status: res.status };
  return {
    status: res.status,
    token: res.headers.get("x-subject-token") ?? undefined,
    body: JSON.parse(text) as { token: Record<string, unknown> },
  };
}

/** A token of `auth`, or an error naming the status (never the password). */
export async function tokenOf(baseUrl: string, auth: PasswordAuth): Promise<string> {
  const answer = await issueToken(baseUrl, auth);
  if (answer.status !== 201 || !answer.token) {
    throw new Error(`no token for ${auth.user} from ${baseUrl}: HTTP ${answer.status}`);
  }
  return answer.token;
}

/** The admin calls the harness makes with an admin token. */
export function identityAdmin(baseUrl: string, token: string) {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        "x-auth-token": token,
        ...(body !== undefined && { "content-type": "application/json" }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status >= 300) {
      // Keystone never echoes a password; the path and status say enough.
      throw new Error(`keystone ${method} ${path}: HTTP ${res.status}`);
    }
    return (text ? JSON.parse(text) : {}) as T;
  };
  const idOf = async (collection: string, name: string) => {
    const list = await call<Record<string, Array<{ id: string }>>>(
      "GET",
      `/v3/${collection}?name=${encodeURIComponent(name)}`,
    );
    const found = list[collection]?.[0];
    if (!found) throw new Error(`keystone has no ${collection} named ${name}`);
    return found.id;
  };
  return {
    call,
    roleId: (name: string) => idOf("roles", name),
    projectId: (name: string) => idOf("projects", name),
    async createProject(name: string, domainId = "default") {
      const { project } = await call<{ project: { id: string } }>("POST", "/v3/projects", {
        project: { name, domain_id: domainId },
      });
      return project.id;
    },
    async createUser(name: string, password: string, domainId = "default") {
      const { user } = await call<{ user: { id: string } }>("POST", "/v3/users", {
        user: { name, password, domain_id: domainId },
      });
      return user.id;
    },
    async grantProjectRole(projectId: string, userId: string, roleId: string) {
      await call("PUT", `/v3/projects/${projectId}/users/${userId}/roles/${roleId}`);
    },
    async createService(name: string, type: string) {
      const { service } = await call<{ service: { id: string } }>("POST", "/v3/services", {
        service: { name, type },
      });
      return service.id;
    },
    async createEndpoints(serviceId: string, url: string, region = "RegionOne") {
      for (const iface of ["public", "internal", "admin"]) {
        await call("POST", "/v3/endpoints", {
          endpoint: { service_id: serviceId, interface: iface, url, region_id: region },
        });
      }
    },
  };
}

/**
 * A real OpenStack control plane for one test file, every option of every service served by
 * strongroom: a private MariaDB, `strongroom up` with examples/openstack/manifest.yaml (a copy
 * with the ports this run chose) seeded from examples/openstack/passwords.yaml, a service kit
 * per service, and N Keystone and N Placement API processes (default 2 each) behind a private
 * HAProxy. Everything listens on 127.0.0.1, runs in its own process group and is killed by
 * process group in stop(); files live in one temp dir (on /dev/shm when possible).
 *
 *   let os: OpenStackDeployment;
 *   beforeAll(async () => { os = await startOpenStack(); }, 300_000);
 *   afterAll(() => os?.stop());
 *
 * Setup, in order: MariaDB and HAProxy (frontends on free ports, servers down) → the databases
 * and the accounts of every `mariadb` target of the manifest, with the passwords file's values →
 * `strongroom up --seed` → kits → Keystone node dirs (key repositories from the passwords file,
 * local keystone.conf) → `keystone-manage db_sync` and `bootstrap` (AdminPassword; endpoints at
 * the HAProxy frontend) → the Keystone processes, while `placement-manage db sync` runs → user
 * `placement` (PlacementPassword, admin on project `service`), service and endpoints →
 * the Placement processes → every server UP in HAProxy. `timings` holds each step's duration.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { type HaproxyServer, startHaproxy } from "../haproxy.js";
import { type MariaDbServer, startMariaDb } from "../mariadb-server.js";
import { freePort } from "../ports.js";
import { REPO_ROOT } from "../repo-root.js";
import { makeServerDir } from "../servers.js";
import { runCli, startUp, type UpHandle } from "../strongroom-up.js";
import {
  bootstrapKeystone,
  identityAdmin,
  type KeystoneNode,
  keystoneManage,
  type PasswordAuth,
  prepareKeystoneNode,
  startKeystone,
  tokenOf,
} from "./keystone.js";
import {
  type OpenStackPasswords,
  readPasswordsFile,
  redactor,
  secretStrings,
} from "./passwords.js";
import {
  type PlacementNode,
  placementManage,
  preparePlacementNode,
  startPlacement,
} from "./placement.js";
import type { WsgiProcess, WsgiRunner } from "./wsgi-process.js";

export const OPENSTACK_EXAMPLE = join(REPO_ROOT, "examples", "openstack");
export const OPENSTACK_MANIFEST = join(OPENSTACK_EXAMPLE, "manifest.yaml");
export const OPENSTACK_PASSWORDS = join(OPENSTACK_EXAMPLE, "passwords.yaml");

export const SERVICES = ["keystone", "placement"] as const;
export type Service = (typeof SERVICES)[number];

export interface OpenStackOptions {
  manifest?: string;
  passwords?: string;
  /** API processes per service; default 2. */
  processes?: number;
  runner?: WsgiRunner;
  threads?: number;
}

export interface OpenStackDeployment {
  readonly root: string;
  readonly stateDir: string;
  /** The manifest `up` runs: the example with this run's ports. */
  readonly manifestFile: string;
  readonly passwords: OpenStackPasswords;
  /** Replaces every value of the passwords file (in its raw, URL and `$` forms). */
  readonly redact: (text: string) => string;
  readonly db: MariaDbServer;
  readonly haproxy: HaproxyServer;
  readonly up: UpHandle;
  readonly kits: Readonly<Record<Service, string>>;
  /** The HAProxy frontends. */
  readonly keystoneUrl: string;
  readonly placementUrl: string;
  readonly keystoneNodes: readonly KeystoneNode[];
  readonly placementNodes: readonly PlacementNode[];
  /** keystone-0, keystone-1, ... (HAProxy's server names too). */
  readonly keystone: WsgiProcess[];
  readonly placement: WsgiProcess[];
  /** Duration of each setup step in ms, and `total`. */
  readonly timings: Readonly<Record<string, number>>;
  readonly adminAuth: PasswordAuth;
  readonly placementAuth: PasswordAuth;
  /** Kills every process (by process group) and removes the files. Safe to call twice. */
  stop(): Promise<void>;
}

interface DeploymentPorts {
  dbPort: number;
  keystoneUrl: string;
  placementUrl: string;
}

/** The example manifest with this run's addresses: variables, the MariaDB target, health URLs. */
export function deploymentManifest(text: string, ports: DeploymentPorts): string {
  const doc = parseDocument(text);
  doc.setIn(["variables", "db_host"], "127.0.0.1");
  doc.setIn(["variables", "db_port"], String(ports.dbPort));
  doc.setIn(["variables", "keystone_url"], ports.keystoneUrl);
  doc.setIn(["targets", "db", "host"], "127.0.0.1");
  doc.setIn(["targets", "db", "port"], ports.dbPort);
  doc.setIn(["services", "keystone", "health", "url"], `${ports.keystoneUrl}/v3`);
  doc.setIn(["services", "placement", "health", "url"], `${ports.placementUrl}/`);
  if (doc.errors.length > 0) throw new Error(`manifest: ${doc.errors[0]!.message}`);
  return doc.toString();
}

/** user@host accounts of each secret's `mariadb` target(s), from the manifest. */
export function mariadbAccounts(text: string): Map<string, string[]> {
  const raw = parseDocument(text).toJS() as {
    secrets?: Record<string, { target?: unknown } | null>;
  };
  const accounts = new Map<string, string[]>();
  for (const [name, spec] of Object.entries(raw.secrets ?? {})) {
    const targets = [spec?.target ?? []].flat() as Array<{ kind?: string; accounts?: string[] }>;
    for (const target of targets) {
      if (target.kind === "mariadb" && target.accounts) {
        accounts.set(name, [...(accounts.get(name) ?? []), ...target.accounts]);
      }
    }
  }
  return accounts;
}

export async function startOpenStack(options: OpenStackOptions = {}): Promise<OpenStackDeployment> {
  const manifestText = readFileSync(options.manifest ?? OPENSTACK_MANIFEST, "utf8");
  const passwordsFile = options.passwords ?? OPENSTACK_PASSWORDS;
  const passwords = readPasswordsFile(passwordsFile);
  const redact = redactor(secretStrings(passwords));
  const count = options.processes ?? 2;
  const procOptions = {
    redact,
    ...(options.runner && { runner: options.runner }),
    ...(options.threads !== undefined && { threads: options.threads }),
  };

  const dir = makeServerDir("strongroom-openstack-");
  const root = dir.path;
  const stateDir = join(root, "state");
  const timings: Record<string, number> = {};
  const started = performance.now();
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const result = await fn();
    timings[name] = Math.round(performance.now() - t);
    return result;
  };

  // Everything started so far, stopped in reverse order by stop() or a failed setup.
  const stops: Array<() => Promise<unknown>> = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    stopping ??= (async () => {
      for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
      dir.remove();
    })();
    return stopping;
  };

  try {
    const names = (service: Service) => Array.from({ length: count }, (_, i) => `${service}-${i}`);
    const backendPorts = new Map<string, number>();
    for (const service of SERVICES) {
      for (const name of names(service)) backendPorts.set(name, await freePort());
    }
    const [db, haproxy] = await step("mariadb+haproxy", async () => {
      const [db, haproxy] = await Promise.allSettled([
        startMariaDb({ rootPassword: passwords.MysqlRootPassword }),
        startHaproxy(
          SERVICES.map((service) => ({
            name: service,
            check: service === "keystone" ? "/v3" : "/",
            servers: names(service).map((name) => ({ name, port: backendPorts.get(name)! })),
          })),
        ),
      ]);
      // The one that started is stopped even when the other failed.
      if (db.status === "fulfilled") stops.push(() => db.value.stop());
      if (haproxy.status === "fulfilled") stops.push(() => haproxy.value.stop());
      if (db.status === "rejected") throw db.reason;
      if (haproxy.status === "rejected") throw haproxy.reason;
      return [db.value, haproxy.value] as const;
    });
    const keystoneUrl = haproxy.url("keystone");
    const placementUrl = haproxy.url("placement");

    await step("databases", async () => {
      for (const [secret, accounts] of mariadbAccounts(manifestText)) {
        if (secret === "MysqlRootPassword") continue; // the harness made root already
        const value = passwords[secret as keyof OpenStackPasswords];
        if (typeof value !== "string") throw new Error(`${passwordsFile} has no ${secret}`);
        for (const account of accounts) {
          const [user, host] = account.split("@") as [string, string];
          await db.sql(`CREATE DATABASE IF NOT EXISTS \`${user}\``);
          await db.sql("CREATE USER ?@? IDENTIFIED BY ?", [user, host, value]);
          await db.sql(`GRANT ALL ON \`${user}\`.* TO ?@?`, [user, host]);
        }
      }
    });

    const manifestFile = join(root, "manifest.yaml");
    writeFileSync(
      manifestFile,
      deploymentManifest(manifestText, { dbPort: db.port, keystoneUrl, placementUrl }),
    );
    const up = await step("strongroom up", () =>
      startUp(stateDir, ["--seed", passwordsFile], {
        manifest: manifestFile,
        listen: "127.0.0.1:0",
      }),
    );
    stops.push(() => up.stop());

    const kits = { keystone: join(root, "keystone-kit"), placement: join(root, "placement-kit") };
    await step("service kits", () =>
      Promise.all(
        SERVICES.map(async (service) => {
          const made = await runCli(stateDir, ["service-kit", service, "--out", kits[service]]);
          if (made.code !== 0) throw new Error(`service-kit ${service}: ${made.stderr.trim()}`);
        }),
      ),
    );

    const keystoneNodes = names("keystone").map((name) =>
      prepareKeystoneNode(join(root, name), kits.keystone, passwords),
    );
    const placementNodes = names("placement").map((name) =>
      preparePlacementNode(join(root, name), kits.placement),
    );
    const first = keystoneNodes[0]!;
    await step("keystone-manage db_sync", () => keystoneManage(first, ["db_sync"], { redact }));
    await step("keystone-manage bootstrap", () =>
      bootstrapKeystone(first, {
        adminPassword: passwords.AdminPassword,
        url: keystoneUrl,
        redact,
      }),
    );

    const keystone: WsgiProcess[] = [];
    const placement: WsgiProcess[] = [];
    stops.push(() => Promise.all([...keystone, ...placement].map((p) => p.kill())));
    /** Starts one API process as HAProxy's server `name`, moved if it had to take another port. */
    const startServer = async (
      service: Service,
      name: string,
      start: (port: number) => Promise<WsgiProcess>,
    ) => {
      const proc = await start(backendPorts.get(name)!);
      (service === "keystone" ? keystone : placement).push(proc);
      if (proc.port !== backendPorts.get(name)) {
        await haproxy.setAddress(service, name, proc.port);
      }
      timings[`start ${name}`] = Math.round(proc.startupMs);
      return proc;
    };
    const allUp = (service: Service) =>
      Promise.all(
        names(service).map((name) =>
          haproxy.waitFor(service, name, (s) => s.status === "UP", { what: "UP" }),
        ),
      );

    await step("keystone processes + placement db sync", () =>
      Promise.all([
        ...keystoneNodes.map((node, i) =>
          startServer("keystone", `keystone-${i}`, (port) =>
            startKeystone(node, { name: `keystone-${i}`, port, ...procOptions }),
          ),
        ),
        placementManage(placementNodes[0]!, ["db", "sync"], { redact }),
      ]),
    );
    await step("keystone UP in haproxy", () => allUp("keystone"));

    const adminAuth: PasswordAuth = {
      user: "admin",
      password: passwords.AdminPassword,
      project: "admin",
    };
    const placementAuth: PasswordAuth = {
      user: "placement",
      password: passwords.PlacementPassword,
      project: "service",
    };
    await step("keystone users and endpoints", async () => {
      const admin = identityAdmin(keystoneUrl, await tokenOf(keystoneUrl, adminAuth));
      const project = await admin.createProject("service");
      const user = await admin.createUser("placement", passwords.PlacementPassword);
      await admin.grantProjectRole(project, user, await admin.roleId("admin"));
      const service = await admin.createService("placement", "placement");
      await admin.createEndpoints(service, placementUrl);
    });

    await step("placement processes", () =>
      Promise.all(
        placementNodes.map((node, i) =>
          startServer("placement", `placement-${i}`, (port) =>
            startPlacement(node, { name: `placement-${i}`, port, ...procOptions }),
          ),
        ),
      ),
    );
    await step("placement UP in haproxy", () => allUp("placement"));
    const byName = (a: WsgiProcess, b: WsgiProcess) => a.name.localeCompare(b.name);
    keystone.sort(byName);
    placement.sort(byName);
    timings["total"] = Math.round(performance.now() - started);

    return {
      root,
      stateDir,
      manifestFile,
      passwords,
      redact,
      db,
      haproxy,
      up,
      kits,
      keystoneUrl,
      placementUrl,
      keystoneNodes,
      placementNodes,
      keystone,
      placement,
      timings,
      adminAuth,
      placementAuth,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

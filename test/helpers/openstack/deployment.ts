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
 * `strongroom up --seed` → kits → Keystone node dirs (local keystone.conf; key repositories
 * written by `strongroom files keystone --kit`) → `keystone-manage db_sync` and `bootstrap`
 * (AdminPassword; endpoints at
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
import { BIN, CRASHING_UP, runCli, startUp, type UpHandle } from "../strongroom-up.js";
import {
  bootstrapKeystone,
  identityAdmin,
  type KeystoneNode,
  keyRepositories,
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
  /** The broker now (restartBroker replaces it). */
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
  /** The API process `name` (keystone-0, placement-1...), as it runs now. */
  process(name: string): WsgiProcess;
  /**
   * Stops the broker (SIGTERM; a crashed one is only reaped) and starts it again on the same
   * state dir and address. `crashAt`: the new one is killed (SIGKILL) right after it persisted
   * that rotation step.
   */
  restartBroker(options?: { crashAt?: string }): Promise<UpHandle>;
  /** Starts API process `name` again (killing what is left of it), on its port, back UP in HAProxy. */
  respawn(name: string): Promise<WsgiProcess>;
  /** Kills every process (by process group) and removes the files. Safe to call twice. */
  stop(): Promise<void>;
}

/** One API process as the manifest's `instances` name it. */
export interface InstanceAddress {
  name: string;
  port: number;
  /** Its dir: uWSGI's master FIFO and stats socket (`run`), Keystone's `keys/`. */
  dir: string;
}

export interface DeploymentAddresses {
  dbPort: number;
  keystoneUrl: string;
  placementUrl: string;
  haproxySocket: string;
  instances: Readonly<Record<Service, readonly InstanceAddress[]>>;
  /** Each service's kit dir. */
  kits: Readonly<Record<Service, string>>;
}

/** Arguments of the example's restart commands (programs, the kit) and what they are here. */
const restartArguments = (kits: Readonly<Record<Service, string>>) =>
  new Map<string, readonly string[]>([
    ["examples/openstack/uwsgi-reload", [join(OPENSTACK_EXAMPLE, "uwsgi-reload")]],
    ["strongroom", [process.execPath, BIN]],
    ...SERVICES.map((s): [string, string[]] => [`/etc/${s}/strongroom`, [kits[s]]]),
  ]);

/**
 * The example manifest with this run's addresses and paths: variables, the targets, each
 * service's instances (port, run dir, Keystone's key dir), the HAProxy socket and the restart
 * commands' programs.
 */
export function deploymentManifest(text: string, at: DeploymentAddresses): string {
  const doc = parseDocument(text);
  const raw = doc.toJS() as {
    services: Record<string, { restart?: { command?: string[] } } | undefined>;
  };
  doc.setIn(["variables", "db_host"], "127.0.0.1");
  doc.setIn(["variables", "db_port"], String(at.dbPort));
  doc.setIn(["variables", "keystone_url"], at.keystoneUrl);
  doc.setIn(["targets", "db", "host"], "127.0.0.1");
  doc.setIn(["targets", "db", "port"], at.dbPort);
  doc.setIn(["targets", "identity", "url"], `${at.keystoneUrl}/v3`);
  const replacements = restartArguments(at.kits);
  for (const service of SERVICES) {
    const instances = at.instances[service].map(({ name, port, dir }) => ({
      name,
      port,
      run: dir,
      ...(service === "keystone" && { keys: keyRepositories(dir).root }),
    }));
    doc.setIn(["services", service, "instances"], doc.createNode(instances));
    doc.setIn(["services", service, "load_balancer", "socket"], at.haproxySocket);
    const argv = (raw.services[service]?.restart?.command ?? []) as string[];
    doc.setIn(
      ["services", service, "restart", "command"],
      doc.createNode(argv.flatMap((arg) => replacements.get(arg) ?? [arg])),
    );
  }
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
    const instances = {} as Record<Service, InstanceAddress[]>;
    for (const service of SERVICES) {
      instances[service] = [];
      for (let i = 0; i < count; i++) {
        const name = `${service}-${i}`;
        instances[service].push({ name, port: await freePort(), dir: join(root, name) });
      }
    }
    const serviceOf = (name: string): Service => {
      const service = SERVICES.find((s) => instances[s].some((i) => i.name === name));
      if (!service) throw new Error(`no API process named ${name}`);
      return service;
    };
    const addressOf = (name: string) => instances[serviceOf(name)].find((i) => i.name === name)!;

    const [db, haproxy] = await step("mariadb+haproxy", async () => {
      const [db, haproxy] = await Promise.allSettled([
        startMariaDb({ rootPassword: passwords.MysqlRootPassword }),
        startHaproxy(
          SERVICES.map((service) => ({
            name: service,
            check: service === "keystone" ? "/v3" : "/",
            servers: instances[service].map(({ name, port }) => ({ name, port })),
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

    const kits = { keystone: join(root, "keystone-kit"), placement: join(root, "placement-kit") };
    const manifestFile = join(root, "manifest.yaml");
    writeFileSync(
      manifestFile,
      deploymentManifest(manifestText, {
        dbPort: db.port,
        keystoneUrl,
        placementUrl,
        haproxySocket: haproxy.socket,
        instances,
        kits,
      }),
    );
    let up = await step("strongroom up", () =>
      startUp(stateDir, ["--seed", passwordsFile], {
        manifest: manifestFile,
        listen: "127.0.0.1:0",
      }),
    );
    stops.push(() => up.stop());

    await step("service kits", () =>
      Promise.all(
        SERVICES.map(async (service) => {
          const made = await runCli(stateDir, ["service-kit", service, "--out", kits[service]]);
          if (made.code !== 0) throw new Error(`service-kit ${service}: ${made.stderr.trim()}`);
        }),
      ),
    );

    const keystoneNodes = instances.keystone.map((i) => prepareKeystoneNode(i.dir, kits.keystone));
    const placementNodes = instances.placement.map((i) =>
      preparePlacementNode(i.dir, kits.placement),
    );
    await step("strongroom files keystone", () =>
      Promise.all(
        keystoneNodes.map(async (node) => {
          const args = ["files", "keystone", "--kit", kits.keystone, "--out", node.keys.root];
          const made = await runCli(stateDir, args);
          if (made.code !== 0) throw new Error(`files keystone: ${made.stderr.trim()}`);
        }),
      ),
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

    const running = new Map<string, WsgiProcess>();
    stops.push(() => Promise.all([...running.values()].map((p) => p.kill())));
    /** Starts API process `name` on its port; it must get that port: the manifest names it. */
    const startProcess = async (name: string) => {
      const service = serviceOf(name);
      const address = addressOf(name);
      const index = instances[service].indexOf(address);
      const spec = { name, port: address.port, ...procOptions };
      const proc =
        service === "keystone"
          ? await startKeystone(keystoneNodes[index]!, spec)
          : await startPlacement(placementNodes[index]!, spec);
      running.set(name, proc);
      if (proc.port !== address.port) {
        throw new Error(
          `${name} could not have port ${address.port} (taken meanwhile), which the manifest names`,
        );
      }
      timings[`start ${name}`] = Math.round(proc.startupMs);
      return proc;
    };
    const allUp = (service: Service) =>
      Promise.all(
        instances[service].map(({ name }) =>
          haproxy.waitFor(service, name, (s) => s.status === "UP", { what: "UP" }),
        ),
      );

    await step("keystone processes + placement db sync", () =>
      Promise.all([
        ...instances.keystone.map(({ name }) => startProcess(name)),
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
      Promise.all(instances.placement.map(({ name }) => startProcess(name))),
    );
    await step("placement UP in haproxy", () => allUp("placement"));
    timings["total"] = Math.round(performance.now() - started);

    const byService = (service: Service) =>
      instances[service].map(({ name }) => running.get(name)!);
    return {
      root,
      stateDir,
      manifestFile,
      passwords,
      redact,
      db,
      haproxy,
      get up() {
        return up;
      },
      kits,
      keystoneUrl,
      placementUrl,
      keystoneNodes,
      placementNodes,
      get keystone() {
        return byService("keystone");
      },
      get placement() {
        return byService("placement");
      },
      timings,
      adminAuth,
      placementAuth,
      process(name) {
        const proc = running.get(name);
        if (!proc) throw new Error(`no API process named ${name}`);
        return proc;
      },
      async restartBroker(restart = {}) {
        await up.stop();
        up = await startUp(stateDir, [], {
          manifest: manifestFile,
          listen: null,
          ...(restart.crashAt && {
            env: { STRONGROOM_CRASH_AT: restart.crashAt },
            entry: CRASHING_UP,
          }),
        });
        return up;
      },
      async respawn(name) {
        await running.get(name)?.kill();
        const proc = await startProcess(name);
        const service = serviceOf(name);
        await haproxy.setState(service, name, "ready");
        await haproxy.waitFor(service, name, (s) => s.status === "UP", { what: "UP" });
        return proc;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

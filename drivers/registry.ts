/**
 * Drivers by name: the built-ins, plus third-party modules loaded from a path. A registry is
 * a plain object the composition root creates; there is no global one.
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Manifest } from "../src/config/manifest.js";
import { ERRORS } from "../src/lib/errors.js";
import { driver as castellanSource } from "./config-sources/castellan/index.js";
import { driver as environmentSource } from "./config-sources/environment/index.js";
import { driver as iniSource } from "./config-sources/ini/index.js";
import { HEALTH_CHECK_DRIVERS } from "./health-checks/index.js";
import { driver as vaultKeyManager } from "./key-managers/vault/index.js";
import { driver as haproxyLoadBalancer } from "./load-balancers/haproxy/index.js";
import { driver as commandRestarter } from "./restarters/command/index.js";
import { driver as kubernetesRestarter } from "./restarters/kubernetes/index.js";
import { driver as signalRestarter } from "./restarters/signal/index.js";
import { driver as systemdRestarter } from "./restarters/systemd/index.js";
import { driver as commandTarget } from "./rotation-targets/command/index.js";
import { driver as keystoneTarget } from "./rotation-targets/keystone/index.js";
import { driver as mariadbTarget } from "./rotation-targets/mariadb/index.js";
import { driver as rabbitmqTarget } from "./rotation-targets/rabbitmq/index.js";
import { driver as kubernetesSecretSink } from "./secret-sinks/kubernetes-secret/index.js";
import type {
  ConfigSourceDriver,
  Driver,
  HealthCheckDriver,
  KeyManagerDriver,
  LoadBalancerDriver,
  RestarterDriver,
  RotationTargetDriver,
  SecretSinkDriver,
} from "./types.js";

export const BUILT_IN_DRIVERS: readonly Driver[] = [
  vaultKeyManager,
  environmentSource,
  iniSource,
  castellanSource,
  mariadbTarget,
  rabbitmqTarget,
  commandTarget,
  keystoneTarget,
  commandRestarter,
  systemdRestarter,
  signalRestarter,
  ...HEALTH_CHECK_DRIVERS,
  haproxyLoadBalancer,
  kubernetesRestarter,
  kubernetesSecretSink,
];

const driverError = (message: string, cause?: unknown) =>
  ERRORS.STRONGROOM_ERR_DRIVER(message, { cause });

export interface DriverRegistry {
  /** Adds a driver; a name already taken for that kind is an error. */
  register(driver: Driver): void;
  keyManager(name: string): KeyManagerDriver;
  configSource(name: string): ConfigSourceDriver;
  rotationTarget(name: string): RotationTargetDriver;
  restarter(name: string): RestarterDriver;
  healthCheck(name: string): HealthCheckDriver;
  loadBalancer(name: string): LoadBalancerDriver;
  secretSink(name: string): SecretSinkDriver;
  names(): {
    keyManagers: string[];
    configSources: string[];
    rotationTargets: string[];
    restarters: string[];
    healthChecks: string[];
    loadBalancers: string[];
    secretSinks: string[];
  };
}

const DRIVER_KINDS = [
  "key-manager",
  "config-source",
  "rotation-target",
  "restarter",
  "health-check",
  "load-balancer",
  "secret-sink",
] as const;

export function createDriverRegistry(
  drivers: readonly Driver[] = BUILT_IN_DRIVERS,
): DriverRegistry {
  const tables = {
    "key-manager": new Map<string, KeyManagerDriver>(),
    "config-source": new Map<string, ConfigSourceDriver>(),
    "rotation-target": new Map<string, RotationTargetDriver>(),
    restarter: new Map<string, RestarterDriver>(),
    "health-check": new Map<string, HealthCheckDriver>(),
    "load-balancer": new Map<string, LoadBalancerDriver>(),
    "secret-sink": new Map<string, SecretSinkDriver>(),
  };
  const find = <K extends keyof typeof tables>(kind: K, name: string) => {
    const found = tables[kind].get(name);
    if (!found) {
      throw driverError(
        `unknown ${kind} driver "${name}" (known: ${[...tables[kind].keys()].join(", ")})`,
      );
    }
    return found as NonNullable<ReturnType<(typeof tables)[K]["get"]>>;
  };
  const registry: DriverRegistry = {
    register(driver) {
      const table = tables[driver.kind] as Map<string, Driver>;
      if (table.has(driver.name))
        throw driverError(`a ${driver.kind} driver named "${driver.name}" is already registered`);
      table.set(driver.name, driver);
    },
    keyManager: (name) => find("key-manager", name),
    configSource: (name) => find("config-source", name),
    rotationTarget: (name) => find("rotation-target", name),
    restarter: (name) => find("restarter", name),
    healthCheck: (name) => find("health-check", name),
    loadBalancer: (name) => find("load-balancer", name),
    secretSink: (name) => find("secret-sink", name),
    names: () => ({
      keyManagers: [...tables["key-manager"].keys()],
      configSources: [...tables["config-source"].keys()],
      rotationTargets: [...tables["rotation-target"].keys()],
      restarters: [...tables.restarter.keys()],
      healthChecks: [...tables["health-check"].keys()],
      loadBalancers: [...tables["load-balancer"].keys()],
      secretSinks: [...tables["secret-sink"].keys()],
    }),
  };
  for (const driver of drivers) registry.register(driver);
  return registry;
}

/** Why `value` is not a driver, or undefined when it is one. */
export function driverProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "`driver` is not an object";
  const { kind, name, create, probe } = value as Record<string, unknown>;
  if (!(DRIVER_KINDS as readonly unknown[]).includes(kind)) {
    return `\`driver.kind\` must be one of ${DRIVER_KINDS.map((k) => `"${k}"`).join(", ")}`;
  }
  if (typeof name !== "string" || !/^[a-z][a-z0-9_-]*$/.test(name)) {
    return "`driver.name` must be a lower-case name";
  }
  if (kind === "health-check") {
    return typeof probe === "function" ? undefined : "`driver.probe` must be a function";
  }
  if (typeof create !== "function") return "`driver.create` must be a function";
  return undefined;
}

/**
 * Imports a third-party driver module (a file path, relative to `baseDir` when not absolute,
 * e.g. the manifest's directory) and returns its `driver` export, checked.
 */
export async function loadDriver(
  modulePath: string,
  options: { baseDir?: string } = {},
): Promise<Driver> {
  const file = isAbsolute(modulePath)
    ? modulePath
    : resolve(options.baseDir ?? process.cwd(), modulePath);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.name : "error");
    throw driverError(`cannot load the driver module ${file} (${why})`, err);
  }
  if (!("driver" in module))
    throw driverError(`the driver module ${file} does not export \`driver\``);
  const problem = driverProblem(module["driver"]);
  if (problem) throw driverError(`the driver module ${file}: ${problem}`);
  return module["driver"] as Driver;
}

/** The kinds a manifest's `drivers:` list may add; key managers are chosen by the operator. */
const MANIFEST_DRIVER_KINDS: ReadonlySet<Driver["kind"]> = new Set([
  "config-source",
  "rotation-target",
  "restarter",
  "health-check",
  "load-balancer",
  "secret-sink",
]);

/**
 * Loads the manifest's third-party drivers into `registry`; returns them with their config,
 * in manifest order (config sources are consulted in that order).
 */
export async function registerManifestDrivers(
  registry: DriverRegistry,
  manifest: Pick<Manifest, "file" | "drivers">,
): Promise<Array<{ driver: Driver; config: Record<string, unknown> }>> {
  const loaded: Array<{ driver: Driver; config: Record<string, unknown> }> = [];
  for (const entry of manifest.drivers) {
    const driver = await loadDriver(entry.module);
    if (!MANIFEST_DRIVER_KINDS.has(driver.kind)) {
      throw driverError(
        `${manifest.file}: driver module ${entry.module} is a ${driver.kind} driver; a manifest may add config sources, restarters, rotation targets, health checks, load balancers and secret sinks`,
      );
    }
    registry.register(driver);
    loaded.push({ driver, config: { ...entry.config } });
  }
  return loaded;
}

/** The config sources among drivers loaded by `registerManifestDrivers`, in their order. */
export function configSourcesAmong(
  loaded: ReadonlyArray<{ driver: Driver; config: Record<string, unknown> }>,
): Array<{ driver: ConfigSourceDriver; config: Record<string, unknown> }> {
  return loaded.filter(
    (d): d is { driver: ConfigSourceDriver; config: Record<string, unknown> } =>
      d.driver.kind === "config-source",
  );
}

/**
 * Drivers by name: the built-ins, plus third-party modules loaded from a path. A registry is
 * a plain object the composition root creates; there is no global one.
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { StrongroomError } from "../src/lib/errors.js";
import { driver as castellanSource } from "./config-sources/castellan/index.js";
import { driver as environmentSource } from "./config-sources/environment/index.js";
import { driver as iniSource } from "./config-sources/ini/index.js";
import { driver as sealedFileKeyManager } from "./key-managers/sealed-file/index.js";
import { driver as vaultKeyManager } from "./key-managers/vault/index.js";
import type { ConfigSourceDriver, Driver, KeyManagerDriver } from "./types.js";

export const BUILT_IN_DRIVERS: readonly Driver[] = [
  vaultKeyManager,
  sealedFileKeyManager,
  environmentSource,
  iniSource,
  castellanSource,
];

const driverError = (message: string, cause?: unknown) =>
  new StrongroomError("STRONGROOM_ERR_DRIVER", message, { statusCode: 400, exitCode: 2, cause });

export interface DriverRegistry {
  /** Adds a driver; a name already taken for that kind is an error. */
  register(driver: Driver): void;
  keyManager(name: string): KeyManagerDriver;
  configSource(name: string): ConfigSourceDriver;
  names(): { keyManagers: string[]; configSources: string[] };
}

export function createDriverRegistry(
  drivers: readonly Driver[] = BUILT_IN_DRIVERS,
): DriverRegistry {
  const keyManagers = new Map<string, KeyManagerDriver>();
  const configSources = new Map<string, ConfigSourceDriver>();
  const registry: DriverRegistry = {
    register(driver) {
      const table: Map<string, Driver> =
        driver.kind === "key-manager" ? keyManagers : configSources;
      if (table.has(driver.name))
        throw driverError(`a ${driver.kind} driver named "${driver.name}" is already registered`);
      table.set(driver.name, driver);
    },
    keyManager(name) {
      const found = keyManagers.get(name);
      if (!found) {
        throw driverError(
          `unknown key-manager driver "${name}" (known: ${[...keyManagers.keys()].join(", ")})`,
        );
      }
      return found;
    },
    configSource(name) {
      const found = configSources.get(name);
      if (!found) {
        throw driverError(
          `unknown config-source driver "${name}" (known: ${[...configSources.keys()].join(", ")})`,
        );
      }
      return found;
    },
    names: () => ({
      keyManagers: [...keyManagers.keys()],
      configSources: [...configSources.keys()],
    }),
  };
  for (const driver of drivers) registry.register(driver);
  return registry;
}

/** Why `value` is not a driver, or undefined when it is one. */
export function driverProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "`driver` is not an object";
  const { kind, name, create } = value as Record<string, unknown>;
  if (kind !== "key-manager" && kind !== "config-source") {
    return '`driver.kind` must be "key-manager" or "config-source"';
  }
  if (typeof name !== "string" || !/^[a-z][a-z0-9_-]*$/.test(name)) {
    return "`driver.name` must be a lower-case name";
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

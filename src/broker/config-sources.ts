import { resolve } from "node:path";
import type { DriverRegistry } from "../../drivers/registry.js";
import type { ConfigSource, ConfigSourceDriver, KeyManager } from "../../drivers/types.js";
import type { Manifest } from "../config/manifest.js";

/**
 * The resolution order, as oslo.config has it: environment → INI override files → third-party
 * sources named in the manifest (`drivers:`, in their order) → the manifest's templates through
 * the key manager (castellan) → the option default. Every source is a driver of the registry.
 */
export async function createConfigSources(options: {
  manifest: Manifest;
  keyManager: KeyManager;
  registry: Pick<DriverRegistry, "configSource">;
  /** The manifest's own config-source drivers with their config, in manifest order. */
  thirdParty?: ReadonlyArray<{ driver: ConfigSourceDriver; config: Record<string, unknown> }>;
  overridesDir?: string;
  env: Readonly<Record<string, string | undefined>>;
}): Promise<ConfigSource[]> {
  const { manifest, keyManager, registry } = options;
  const context = { manifest, keyManager };
  const builtIn = (name: string, config: Record<string, unknown>) =>
    registry.configSource(name).create(config, context);
  const sources = [await builtIn("environment", { env: options.env })];
  if (options.overridesDir) {
    sources.push(await builtIn("ini", { dir: resolve(options.overridesDir) }));
  }
  for (const { driver, config } of options.thirdParty ?? []) {
    sources.push(await driver.create(config, context));
  }
  sources.push(await builtIn("castellan", {}));
  return sources;
}

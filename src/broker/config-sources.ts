import { resolve } from "node:path";
import { createCastellanSource } from "../../drivers/config-sources/castellan/index.js";
import { createEnvironmentSource } from "../../drivers/config-sources/environment/index.js";
import { createIniSource } from "../../drivers/config-sources/ini/index.js";
import { loadDriver } from "../../drivers/registry.js";
import type { ConfigSource, KeyManager } from "../../drivers/types.js";
import type { Manifest } from "../config/manifest.js";
import { StrongroomError } from "../lib/errors.js";

/**
 * The resolution order, as oslo.config has it: environment → INI override files → third-party
 * sources named in the manifest (`drivers:`, in their order) → the manifest's templates through
 * the key manager (castellan) → the option default.
 */
export async function createConfigSources(options: {
  manifest: Manifest;
  keyManager: KeyManager;
  overridesDir?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<ConfigSource[]> {
  const { manifest, keyManager } = options;
  const thirdParty: ConfigSource[] = [];
  for (const entry of manifest.drivers) {
    const driver = await loadDriver(entry.module);
    // Restarters and rotation targets from the manifest join the rotation's registry instead.
    if (driver.kind === "restarter" || driver.kind === "rotation-target") continue;
    if (driver.kind !== "config-source") {
      throw new StrongroomError(
        "STRONGROOM_ERR_DRIVER",
        `${manifest.file}: driver module ${entry.module} is a ${driver.kind} driver; a manifest may add config sources, restarters and rotation targets`,
        { statusCode: 400, exitCode: 2 },
      );
    }
    thirdParty.push(await driver.create({ ...entry.config }, { manifest, keyManager }));
  }
  return [
    createEnvironmentSource(options.env),
    ...(options.overridesDir ? [createIniSource({ dir: resolve(options.overridesDir) })] : []),
    ...thirdParty,
    createCastellanSource({ manifest, keyManager }),
  ];
}

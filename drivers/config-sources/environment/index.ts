/**
 * The `environment` config source: `OS_<GROUP>__<OPTION>` as oslo.config reads it (group
 * upper-cased, the option's dest upper-cased: dashes become underscores). Location detail:
 * the variable name. A multi_string option gets the whole variable as its one value (oslo
 * itself splits it into characters, which no one wants).
 */
import { osloDest } from "../../../src/config/render.js";
import { configError } from "../../../src/lib/errors.js";
import type { ConfigSource, ConfigSourceDriver } from "../../types.js";

export type Environment = Readonly<Record<string, string | undefined>>;

export const environmentVariableName = (group: string, option: string): string =>
  `OS_${group.toUpperCase()}__${osloDest(option).toUpperCase()}`;

export function createEnvironmentSource(env: Environment): ConfigSource {
  return {
    driver: "environment",
    async lookup(_service, group, option) {
      const name = environmentVariableName(group, option);
      const raw = env[name];
      return raw === undefined
        ? undefined
        : { raw, location: { source: "environment", detail: name } };
    },
  };
}

export const driver: ConfigSourceDriver = {
  kind: "config-source",
  name: "environment",
  async create(config) {
    const env = config["env"];
    // The composition root hands the environment it read at start (src/cli/environment.ts).
    if (typeof env !== "object" || env === null) {
      throw configError("the environment config source needs `env` (the variables to read)");
    }
    return createEnvironmentSource(env as Environment);
  },
};

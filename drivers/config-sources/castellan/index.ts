/**
 * The `castellan` config source: the manifest's option templates, their secrets fetched
 * through the key manager as castellan would. Location detail: the ids of the secrets used,
 * comma-joined, or "manifest" for a template without secrets. A referenced secret that is
 * missing gives no value (oslo's castellan source falls through to the default the same way).
 */
import type { Manifest } from "../../../src/config/manifest.js";
import {
  renderOptionTemplates,
  secretsOfOption,
  secretText,
} from "../../../src/config/option-templates.js";
import type { ConfigSource, ConfigSourceDriver, KeyManager } from "../../types.js";

export function createCastellanSource(options: {
  manifest: Manifest;
  keyManager: KeyManager;
}): ConfigSource {
  const { manifest, keyManager } = options;
  return {
    driver: "castellan",
    async lookup(service, group, option) {
      const spec = manifest.services.get(service)?.options.get(group)?.get(option);
      if (spec?.value === undefined) return undefined;
      const ids = secretsOfOption(spec);
      const secrets = new Map<string, string>();
      const versions = new Map<string, number>();
      let version = 0;
      for (const [id, stored] of await Promise.all(
        ids.map(async (id) => [id, await keyManager.get(id)] as const),
      )) {
        if (!stored) return undefined;
        secrets.set(id, secretText(stored.value));
        versions.set(id, stored.version);
        version = Math.max(version, stored.version);
      }
      const values = renderOptionTemplates(
        manifest,
        spec,
        (name) => secrets.get(name)!,
        (name) => versions.get(name)!,
      );
      const location = { source: "castellan", detail: ids.length > 0 ? ids.join(",") : "manifest" };
      return {
        raw: values.at(-1) ?? "",
        ...(spec.type === "multi_string" && { values }),
        location,
        version,
        versions: Object.fromEntries(versions),
      };
    },
  };
}

export const driver: ConfigSourceDriver = {
  kind: "config-source",
  name: "castellan",
  async create(_config, context) {
    return createCastellanSource(context);
  },
};

/**
 * The manifest's `sinks`: after a seed and after a rotation commits (before its consumers
 * restart), each sink carrying a changed secret gets every one of its entries with the current
 * values (map values JSON-encoded). Sinks write only what differs, so syncing again is cheap and
 * a resumed rotation simply syncs again.
 */
import type { DriverRegistry } from "../../drivers/registry.js";
import type { KeyManager, SinkWrite } from "../../drivers/types.js";
import type { Manifest, SinkSpec } from "../config/manifest.js";
import { ERRORS } from "../lib/errors.js";

export interface SecretSinks {
  readonly count: number;
  /**
   * Writes the sinks that carry one of `changed` (every sink when absent). A sink whose secrets
   * are not all stored yet is skipped; the first failure throws STRONGROOM_ERR_SINK.
   */
  sync(changed?: readonly string[], signal?: AbortSignal): Promise<SinkReport[]>;
}

export type SinkReport = SinkWrite & { sink: string };

export function createSecretSinks(deps: {
  manifest: Manifest;
  keyManager: KeyManager;
  registry: DriverRegistry;
}): SecretSinks {
  const { manifest, keyManager, registry } = deps;
  const carries = (sink: SinkSpec, changed: readonly string[]) =>
    [...sink.keys.values()].some((secret) => changed.includes(secret));

  const entriesOf = async (sink: SinkSpec) => {
    const entries = new Map<string, string>();
    const missing: string[] = [];
    for (const [key, secret] of sink.keys) {
      const stored = await keyManager.get(secret);
      if (!stored) missing.push(secret);
      else {
        const { value } = stored;
        entries.set(key, typeof value === "string" ? value : JSON.stringify(value));
      }
    }
    return { entries, missing };
  };

  return {
    count: manifest.sinks.length,
    async sync(changed, signal = new AbortController().signal) {
      const reports: SinkReport[] = [];
      for (const spec of manifest.sinks) {
        if (changed && !carries(spec, changed)) continue;
        const driver = registry.secretSink(spec.kind);
        const problem = driver.validate?.(spec.stanza);
        if (problem) throw ERRORS.STRONGROOM_ERR_CONFIG(`bad ${spec.kind} sink: ${problem}`);
        const sink = driver.create(spec.stanza, { deployment: manifest.deployment.name });
        const { entries, missing } = await entriesOf(spec);
        if (missing.length > 0) {
          reports.push({
            sink: sink.description,
            written: false,
            detail: `skipped: no value yet for ${missing.join(", ")}`,
          });
          continue;
        }
        try {
          reports.push({ sink: sink.description, ...(await sink.write(entries, signal)) });
        } catch (error) {
          if (ERRORS.STRONGROOM_ERR_SINK.is(error)) throw error;
          const why = error instanceof Error ? error.message.split("\n")[0] : "failed";
          throw ERRORS.STRONGROOM_ERR_SINK(`${sink.description}: ${why}`, { cause: error });
        }
      }
      return reports;
    },
  };
}

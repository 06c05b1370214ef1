/**
 * Refuses, before anything is written, a secret value that could not reach its consumers
 * intact through the remote_file INI document (render.ts explains the rules): the store
 * never holds a value the broker cannot serve.
 */
import type { KeyManager, SecretValue } from "../../drivers/types.js";
import type { Manifest } from "../config/manifest.js";
import {
  manifestOptions,
  renderOptionTemplates,
  secretsOfOption,
  secretText,
} from "../config/option-templates.js";
import { iniProblem } from "../config/render.js";
import { ERRORS } from "../lib/errors.js";

export async function checkDeliverable(
  manifest: Manifest,
  keyManager: KeyManager,
  changed: ReadonlyMap<string, SecretValue>,
): Promise<void> {
  const known = new Map<string, string | undefined>();
  const text = async (name: string) => {
    if (!known.has(name)) {
      const value = changed.has(name) ? changed.get(name) : (await keyManager.get(name))?.value;
      known.set(name, value === undefined ? undefined : secretText(value));
    }
    return known.get(name);
  };
  for (const { service, group, option, spec } of manifestOptions(manifest)) {
    const secrets = secretsOfOption(spec);
    if (!secrets.some((s) => changed.has(s))) continue;
    const texts = await Promise.all(secrets.map(text));
    if (texts.some((t) => t === undefined)) continue;
    for (const value of renderOptionTemplates(
      manifest,
      spec,
      (name) => texts[secrets.indexOf(name)]!,
    )) {
      const problem = iniProblem(value);
      if (problem) {
        throw ERRORS.STRONGROOM_ERR_VALUE_UNDELIVERABLE(
          `${service} [${group}] ${option}: ${problem}`,
        );
      }
    }
  }
}

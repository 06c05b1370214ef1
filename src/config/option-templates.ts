/** Rendering an option's manifest templates once its secrets are known. */

import { accountOf } from "./accounts.js";
import { type Manifest, type OptionSpec, type ServiceSpec, templatesOf } from "./manifest.js";
import type { SecretValue } from "./secret-value.js";
import { referencesIn, renderValue } from "./template.js";

/** A secret as template text: map values (KeystoneFernetKeys, ...) as their JSON. */
export const secretText = (value: SecretValue): string =>
  typeof value === "string" ? value : JSON.stringify(value);

/** The secrets an option's templates reference, in order of first use. */
export function secretsOfOption(option: OptionSpec): string[] {
  return [...new Set(templatesOf(option).flatMap((t) => referencesIn(t, "secret")))];
}

/** Every template of the option rendered (one per multi_string item). `version` gives the
 * version `secret` answered for a name (the account of alternating users follows it). */
export function renderOptionTemplates(
  manifest: Manifest,
  option: OptionSpec,
  secret: (name: string) => string,
  version: (name: string) => number = () => 1,
): string[] {
  const variable = (name: string) => manifest.variables.get(name) ?? "";
  const user = (name: string) => accountOf(manifest, name, version(name));
  return templatesOf(option).map((t) => renderValue(t, { secret, var: variable, user }));
}

type ManifestOption = { service: string; group: string; option: string; spec: OptionSpec };

/** Every (service, group, option) of the manifest, in manifest order; of one service if named. */
export function* manifestOptions(manifest: Manifest, service?: string): Generator<ManifestOption> {
  if (service === undefined) {
    for (const [name, spec] of manifest.services) yield* serviceOptions(name, spec);
    return;
  }
  // Looked up, not searched for: with 2,000 services this runs on every request.
  const spec = manifest.services.get(service);
  if (spec) yield* serviceOptions(service, spec);
}

function* serviceOptions(service: string, spec: ServiceSpec): Generator<ManifestOption> {
  for (const [group, options] of spec.options) {
    for (const [option, optionSpec] of options) yield { service, group, option, spec: optionSpec };
  }
}

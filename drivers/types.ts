/**
 * The driver contracts, shaped like the ones OpenStack already has: key managers as in
 * Castellan (get / put / list / versions of a secret by id) and configuration sources as in
 * oslo.config (a value and its location for a (group, option)). Built-in drivers live in
 * one folder each under drivers/; a third-party driver is a module exporting `driver`.
 */
import type { SecretValue } from "../src/seed/generators.js";

export type { SecretValue };

export interface StoredSecret {
  /** The secret's name (e.g. "NovaPassword"). */
  id: string;
  value: SecretValue;
  /** Castellan type: "passphrase" for strings, "opaque" for map values (JSON-encoded). */
  type: "passphrase" | "opaque";
  /** Unix seconds. */
  created: number;
  version: number;
}

export interface SecretVersionInfo {
  version: number;
  /** Unix seconds. */
  created: number;
  deleted: boolean;
  destroyed: boolean;
}

export interface KeyManager {
  readonly driver: string;
  /** The latest (or the given) version; undefined when absent, deleted or destroyed. */
  get(id: string, version?: number): Promise<StoredSecret | undefined>;
  /** Writes a new version. `cas` is the expected current version (0: must not exist yet). */
  put(id: string, value: SecretValue, options?: { cas?: number }): Promise<{ version: number }>;
  list(): Promise<string[]>;
  versions(id: string): Promise<SecretVersionInfo[]>;
  /** Removes the secret with every version (rolls back a failed seed). */
  destroy(id: string): Promise<void>;
  close?(): Promise<void>;
}

export interface KeyManagerContext {
  deployment: string;
}

export interface KeyManagerDriver {
  kind: "key-manager";
  name: string;
  create(config: Record<string, unknown>, context: KeyManagerContext): Promise<KeyManager>;
}

/** Where a value came from, like oslo.config's LocationInfo. */
export interface ConfigLocation {
  /** "environment" | "ini" | "castellan" | "default" | a third-party source's name. */
  source: string;
  /** The variable name, the file path, the secret ids, ... never a value. */
  detail: string;
}

export interface SourceAnswer {
  /** The option's value in oslo.config's string form, before type parsing. */
  raw: string;
  /** Every occurrence, for multi-valued options (multi_string); `raw` is then the last one. */
  values?: readonly string[];
  location: ConfigLocation;
  /** The highest current version of the secrets the value was rendered from, when the source
   * read them anyway (saves the resolver reading them again). */
  version?: number;
}

export interface ConfigSource {
  readonly driver: string;
  lookup(service: string, group: string, option: string): Promise<SourceAnswer | undefined>;
}

export interface ConfigSourceDriver {
  kind: "config-source";
  name: string;
  create(config: Record<string, unknown>, context: ConfigSourceContext): Promise<ConfigSource>;
}

export interface ConfigSourceContext {
  /** The deployment's manifest and key manager, for sources that resolve templates. */
  manifest: import("../src/config/manifest.js").Manifest;
  keyManager: KeyManager;
}

export type Driver = KeyManagerDriver | ConfigSourceDriver;

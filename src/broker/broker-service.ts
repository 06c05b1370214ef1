import type { ConfigLocation } from "../../drivers/types.js";
import type { OptionType } from "../config/manifest.js";

/** One resolved option, as GET /v1/config/{service}/{group}/{option} answers it. */
export interface ResolvedOption {
  group: string;
  option: string;
  /** Parsed with oslo.config's rules for `type` (lists → arrays, dicts → objects, ints → numbers). */
  value: unknown;
  type: OptionType;
  secret: boolean;
  location: ConfigLocation;
  /** Changes whenever a secret the option depends on changes (max version of its secrets, 0 if none). */
  version: number;
}

export interface SecretMetadata {
  name: string;
  type: "passphrase" | "opaque";
  version: number;
  created: number;
  consumers: string[];
}

export interface SeedReport {
  dryRun: boolean;
  entries: Array<{ name: string; action: "keep" | "import" | "generate" | "missing" }>;
  written: number;
}

/**
 * What the HTTP server and the CLI need from the broker: lookups for a service, the files
 * oslo.config consumes natively, secrets metadata and seeding. The server never touches
 * Vault or the manifest directly.
 */
export interface BrokerService {
  readonly deployment: string;
  services(): string[];
  hasOption(service: string, group: string, option: string): boolean;
  /** Synchronous on a cache hit (the hot path), a promise otherwise (rejected for an unknown option). */
  lookup(service: string, group: string, option: string): ResolvedOption | Promise<ResolvedOption>;
  serviceOptions(service: string): Promise<ResolvedOption[]>;
  /** The INI document for oslo.config's remote_file source ($ escaped, values quoted). */
  renderIni(service: string): Promise<string>;
  /** castellan's secrets_mapping.conf for the service. */
  castellanMapping(service: string): string;
  /** castellan.conf ([key_manager] backend = vault + [vault]) with the service's AppRole. */
  castellanConfig(service: string, credentials: { roleId: string; secretId: string }): string;
  listSecrets(): Promise<SecretMetadata[]>;
  putSecret(name: string, value: string): Promise<{ version: number }>;
  seed(input: {
    text: string;
    file: string;
    format?: string;
    generate: boolean;
    dryRun: boolean;
  }): Promise<SeedReport>;
}

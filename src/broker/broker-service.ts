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

/** `differs`: kept, though the input holds another value (the name only, never a value). */
export type SeedAction = "keep" | "differs" | "import" | "generate" | "missing";

/** A seed that did not finish (the broker was killed), undone before this one. */
export interface SeedRecovery {
  file: string;
  startedAt: string;
  /** The secrets it was creating. */
  secrets: number;
  /** How many of them it had written, now removed. */
  removed: number;
  /** Written by it and changed since: left in place. */
  kept: string[];
}

export interface SeedReport {
  dryRun: boolean;
  entries: Array<{ name: string; action: SeedAction }>;
  written: number;
  recovered?: SeedRecovery;
}

/** A service identity that fetched a whole config (recorded for rotations: src/lib/fetch-log.ts). */
export interface Fetcher {
  identity: string;
  via: "certificate" | "token";
}

/** A file a service needs, as the broker hands it out. */
export interface ServiceFileContent {
  /** Relative to the service's files directory, e.g. "fernet-keys/0". */
  path: string;
  /** UTF-8 text. */
  content: string;
  secret: string;
  version: number;
}

/**
 * What the HTTP server and the CLI need from the broker: lookups for a service, the files
 * oslo.config consumes natively, secrets metadata and seeding. The server never touches
 * Vault or the manifest directly.
 */
export interface BrokerService {
  readonly deployment: string;
  services(): string[];
  hasService(service: string): boolean;
  hasOption(service: string, group: string, option: string): boolean;
  /** Synchronous on a cache hit (the hot path), a promise otherwise (rejected for an unknown option). */
  lookup(service: string, group: string, option: string): ResolvedOption | Promise<ResolvedOption>;
  /** `fetchedBy`: the service identity asking, recorded as a fetch of this version. */
  serviceOptions(service: string, fetchedBy?: Fetcher): Promise<ResolvedOption[]>;
  /** The INI document for oslo.config's remote_file source ($ escaped, values quoted). */
  renderIni(service: string, fetchedBy?: Fetcher): Promise<string>;
  /** The files holding secrets the service needs (key repositories), from its `files`. */
  serviceFiles(service: string, fetchedBy?: Fetcher): Promise<ServiceFileContent[]>;
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
    strict?: boolean;
  }): Promise<SeedReport>;
}

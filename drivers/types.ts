/**
 * The driver contracts, shaped like the ones OpenStack already has: key managers as in
 * Castellan (get / put / list / versions of a secret by id) and configuration sources as in
 * oslo.config (a value and its location for a (group, option)). Built-in drivers live in
 * one folder each under drivers/; a third-party driver is a module exporting `driver`.
 */
import type { SecretValue } from "../src/config/secret-value.js";

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
  /** The version of each secret the value was rendered from (what a consumer fetching it got). */
  versions?: Readonly<Record<string, number>>;
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

/* ------------------------------------------------------------------------------------------ */
/* Rotation: targets (where a credential lives), restarters and health checks (its consumers). */

/**
 * Where a rotated credential lives: MariaDB accounts, a RabbitMQ user, operator hooks. Every
 * method is idempotent (a resumed rotation calls it again) and decides by logging in, never by
 * trusting an error code. Values pass in memory only: never in argv, the environment or errors.
 */
export interface RotationTarget {
  readonly driver: string;
  /** What the plan shows: the accounts touched and how the old and new values overlap. */
  describe(): TargetDescription;
  /** True when a fresh login with `password` succeeds for every account of this target. */
  accepts(password: string): Promise<boolean>;
  /**
   * Makes the target accept `next`. Dual-capable targets (MariaDB OR-chains, alternating
   * RabbitMQ users) keep accepting `current` too; single ones replace it.
   */
  apply(values: RotationValues): Promise<void>;
  /** After commit and restarts: only `next` is accepted from now on (dual targets drop `current`). */
  retire(values: RotationValues): Promise<void>;
  /** Before commit only: back to accepting `current` alone (undoes `apply`). */
  rollback(values: RotationValues): Promise<void>;
  close?(): Promise<void>;
}

export interface RotationValues {
  /** The committed value when the rotation started (what consumers use). */
  current: string;
  /** The value before that, when the store still has it. */
  previous?: string;
  /** The staged value being rotated in. */
  next: string;
  /** The secret's version `current` belongs to (alternating-user targets derive the user from it). */
  currentVersion: number;
}

export interface TargetDescription {
  kind: string;
  /** e.g. ["nova@%", "nova@localhost"] or ["rabbitmq user guest"]; never a value. */
  accounts: string[];
  /** "dual": old and new both log in until retire; "alternating": two users take turns;
   * "none": the old value stops working at apply (consumers fail until restarted). */
  overlap: "dual" | "alternating" | "none";
}

export interface RotationTargetContext {
  /** The target server's connection data (mariadb / rabbitmq), from the manifest's `targets`. */
  server?: import("../src/config/manifest-types.js").TargetSpec;
  /**
   * Admin passwords of `server` to try in order (current, then previous, then the staged one
   * when the admin secret is itself being rotated). Read fresh on every call.
   */
  adminPasswords(): Promise<string[]>;
  /** Structured progress, never values. */
  log?(event: string, fields?: Record<string, unknown>): void;
}

export interface RotationTargetDriver {
  kind: "rotation-target";
  name: string;
  create(
    spec: import("../src/config/manifest-types.js").SecretTarget,
    context: RotationTargetContext,
  ): Promise<RotationTarget>;
}

/** Restarts one consumer service (all its processes on this node). */
export interface Restarter {
  readonly driver: string;
  /** Resolves when the restart command finished; throws (one line, no values) on failure. */
  restart(signal: AbortSignal): Promise<void>;
}

export interface RestarterContext {
  service: string;
}

export interface RestarterDriver {
  kind: "restarter";
  name: string;
  /** Problems with the manifest stanza (checked at load), or undefined. */
  validate?(stanza: Readonly<Record<string, unknown>>): string | undefined;
  create(stanza: Readonly<Record<string, unknown>>, context: RestarterContext): Restarter;
}

/**
 * A load balancer in front of a service's instances: an instance is drained before it restarts
 * and put back once it is healthy, so no request reaches a process that is going away.
 */
export interface LoadBalancer {
  readonly driver: string;
  /**
   * Sends no new requests to `server` and waits until its open sessions end, or until `signal`
   * aborts (the drain timeout: the restart then goes ahead). Refuses (throws) when no other
   * server of its backend is up to take the traffic.
   */
  drain(server: string, signal: AbortSignal): Promise<{ drained: boolean; detail: string }>;
  /** Sends requests to `server` again. */
  ready(server: string): Promise<void>;
}

export interface LoadBalancerDriver {
  kind: "load-balancer";
  name: string;
  /** Problems with the manifest stanza (checked at load), or undefined. */
  validate?(stanza: Readonly<Record<string, unknown>>): string | undefined;
  create(stanza: Readonly<Record<string, unknown>>, context: { service: string }): LoadBalancer;
}

/** One health-check attempt's outcome; `detail` names what was checked and what happened, never a value. */
export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** Checks a restarted consumer once (the manifest's `health` stanza, kind = the driver's name). */
export interface HealthCheckDriver {
  kind: "health-check";
  name: string;
  /** One attempt; honours `signal` (the attempt's timeout) and never throws for an unhealthy
   * service, only for a check that cannot be run at all. */
  probe(
    check: import("../src/config/manifest-types.js").HealthCheck,
    signal: AbortSignal,
  ): Promise<ProbeResult>;
}

/**
 * Where a deployment's values are delivered for consumers that cannot ask the broker: a
 * Kubernetes Secret read by OpenStack-Helm or RHOSO pods. The core hands a sink every entry
 * of its manifest stanza's `keys` (entry key -> the secret's value, map values JSON-encoded) after
 * a seed and after a rotation commits, before the consumers restart.
 */
export interface SecretSink {
  readonly driver: string;
  /** What it writes, for logs and errors, e.g. "kubernetes Secret openstack/osp-secret". */
  readonly description: string;
  /** Writes `entries` when they differ from what the sink holds; idempotent. Throws one line,
   * never a value, on failure. */
  write(entries: ReadonlyMap<string, string>, signal: AbortSignal): Promise<SinkWrite>;
}

export interface SinkWrite {
  /** False: the sink already held these values (nothing was written). */
  written: boolean;
  /** e.g. "created", "updated", "unchanged (content-hash 1a2b…)"; never a value. */
  detail: string;
}

export interface SecretSinkDriver {
  kind: "secret-sink";
  name: string;
  /** Problems with the manifest stanza (checked at load), or undefined. */
  validate?(stanza: Readonly<Record<string, unknown>>): string | undefined;
  create(stanza: Readonly<Record<string, unknown>>, context: { deployment: string }): SecretSink;
}

export type Driver =
  | KeyManagerDriver
  | ConfigSourceDriver
  | RotationTargetDriver
  | RestarterDriver
  | HealthCheckDriver
  | LoadBalancerDriver
  | SecretSinkDriver;

import type { GeneratorSpec, HealthKind, OptionType } from "./manifest-schema.js";
import type { Template } from "./template.js";

/** A validated deployment manifest, defaults applied and templates parsed. */
export interface Manifest {
  readonly file: string;
  readonly deployment: {
    readonly name: string;
    /** Seconds a service kit's secret-id lives (its AppRole's secret_id_ttl); 0: no expiry. */
    readonly kitSecretIdTtl: number;
    readonly kollaVault?: KollaVault;
  };
  readonly secrets: ReadonlyMap<string, SecretSpec>;
  readonly services: ReadonlyMap<string, ServiceSpec>;
  readonly targets: ReadonlyMap<string, TargetSpec>;
  readonly variables: ReadonlyMap<string, string>;
  /** Third-party drivers: module paths (absolute, resolved against the manifest's folder). */
  readonly drivers: readonly DriverModule[];
  /** Where values are delivered after a seed and a rotation's commit (Kubernetes Secrets). */
  readonly sinks: readonly SinkSpec[];
}

export interface SinkSpec {
  readonly kind: string;
  /** Entry (e.g. a Secret key) -> the secret whose value it holds. */
  readonly keys: ReadonlyMap<string, string>;
  /** The stanza for the sink's driver: as written, with these `keys` (a `format` preset resolved
   * into them, `format` itself left out). */
  readonly stanza: DriverStanza;
}

/** The deployment's values also kept in kolla's own layout (`<mount>/<path>/<key>`); the
 * defaults (kolla's) are in src/vault/kv-layout.ts. */
export interface KollaVault {
  readonly mount?: string;
  readonly path?: string;
}

export interface DriverModule {
  readonly module: string;
  readonly config: Readonly<Record<string, unknown>>;
}

export interface SecretSpec {
  readonly name: string;
  readonly generator: GeneratorSpec;
  readonly rotate: RotatePolicy;
  /** Where the credential lives, in the order a rotation applies it; empty for none. */
  readonly targets: readonly SecretTarget[];
  readonly tripleo: boolean;
}

export interface RotatePolicy {
  readonly allowed: boolean;
  readonly schedule?: string;
  readonly reason?: string;
}

export interface Account {
  readonly user: string;
  readonly host: string;
}

export type SecretTarget =
  | { readonly kind: "mariadb"; readonly server: string; readonly accounts: readonly Account[] }
  | RabbitmqSecretTarget
  | KeystoneSecretTarget
  | {
      readonly kind: "command";
      readonly apply: readonly string[];
      readonly verify?: readonly string[];
      readonly timeoutSeconds?: number;
    };

/** A user whose password changes (`mode` absent means single). */
export interface SingleUserTarget<K extends string> {
  readonly kind: K;
  readonly server: string;
  readonly mode?: "single";
  readonly user: string;
}

/** Two users taking turns: the active one for secret version v is users[(v - 1) % 2]. */
export interface AlternatingUsersTarget<K extends string> {
  readonly kind: K;
  readonly server: string;
  readonly mode: "alternating";
  readonly users: readonly [string, string];
}

export type UserSecretTarget<K extends string> = SingleUserTarget<K> | AlternatingUsersTarget<K>;
export type RabbitmqSingleTarget = SingleUserTarget<"rabbitmq">;
export type RabbitmqAlternatingTarget = AlternatingUsersTarget<"rabbitmq">;
export type RabbitmqSecretTarget = UserSecretTarget<"rabbitmq">;
/** Keystone users live in a domain (by name; default "Default"). */
export type KeystoneSecretTarget = UserSecretTarget<"keystone"> & { readonly domain: string };

export interface TargetSpec {
  readonly name: string;
  readonly kind: "mariadb" | "rabbitmq" | "keystone";
  /** mariadb, rabbitmq: the server's address ("" for keystone). */
  readonly host: string;
  readonly port: number;
  /** keystone: the identity API's URL (…/v3). */
  readonly url?: string;
  /** keystone: the admin's project and the domain of the admin user and project. */
  readonly adminProject?: string;
  readonly adminDomain?: string;
  /** keystone: absolute path of the PEM bundle verifying an https url. */
  readonly caFile?: string;
  readonly adminUser: string;
  readonly adminSecret: string;
  readonly tls: boolean;
  /** rabbitmq: the Erlang node name rabbitmqctl is pointed at (`-n`). */
  readonly node?: string;
  /** rabbitmq: the argv that runs rabbitmqctl (default ["rabbitmqctl"]). */
  readonly rabbitmqctl?: readonly string[];
}

export interface OptionSpec {
  readonly type: OptionType;
  readonly secret: boolean;
  /** In oslo.config's string form: lists as `a,b`, dicts as `k:v,k2:v2`. */
  readonly default?: string;
  /** A list only for `multi_string`. */
  readonly value?: Template | readonly Template[];
  readonly help?: string;
}

/** A restarter stanza as written: its driver validates the parameters of non-built-in kinds. */
export type DriverStanza = Readonly<{ kind: string } & Record<string, unknown>>;

export interface HealthCheck {
  readonly kind: HealthKind;
  readonly url?: string;
  /** http: GET (default), HEAD or POST. */
  readonly method?: "GET" | "HEAD" | "POST";
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly expectStatus?: number;
  /** Absolute path of the PEM bundle that verifies an https:// health URL. */
  readonly caFile?: string;
  readonly host?: string;
  readonly port?: number;
  readonly command?: readonly string[];
  readonly timeoutSeconds: number;
  readonly retries: number;
  readonly intervalSeconds: number;
}

export interface RollingPolicy {
  /** How many consumers restart at once. */
  readonly maxParallel: number;
  readonly pauseSeconds: number;
  /** Restart plus health check of one consumer. */
  readonly timeoutSeconds: number;
  /** A restarted consumer counts once it fetched its config with the new value. */
  readonly confirmFetch: boolean;
}

/** One instance of a service: its name and the values `{instance.KEY}` stands for. */
export interface ServiceInstance {
  readonly name: string;
  readonly values: Readonly<Record<string, string>>;
}

/** A file holding a secret: a string secret at `path`, or a map secret's entries in `dir`. */
export type ServiceFile =
  | { readonly secret: string; readonly path: string }
  | { readonly secret: string; readonly dir: string };

export interface ServiceSpec {
  readonly name: string;
  readonly options: ReadonlyMap<string, ReadonlyMap<string, OptionSpec>>;
  readonly restart?: DriverStanza;
  readonly health?: HealthCheck;
  /** Restarted one by one; empty: the service restarts as one. */
  readonly instances: readonly ServiceInstance[];
  readonly loadBalancer?: DriverStanza;
  readonly files: readonly ServiceFile[];
  readonly rolling: RollingPolicy;
}

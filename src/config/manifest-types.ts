import type { GeneratorSpec, HealthKind, OptionType } from "./manifest-schema.js";
import type { Template } from "./template.js";

/** A validated deployment manifest, defaults applied and templates parsed. */
export interface Manifest {
  readonly file: string;
  readonly deployment: { readonly name: string };
  readonly secrets: ReadonlyMap<string, SecretSpec>;
  readonly services: ReadonlyMap<string, ServiceSpec>;
  readonly targets: ReadonlyMap<string, TargetSpec>;
  readonly variables: ReadonlyMap<string, string>;
  /** Third-party drivers: module paths (absolute, resolved against the manifest's folder). */
  readonly drivers: readonly DriverModule[];
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
  | {
      readonly kind: "command";
      readonly apply: readonly string[];
      readonly verify?: readonly string[];
      readonly timeoutSeconds?: number;
    };

/** A RabbitMQ user whose password changes (`mode` absent means single). */
export interface RabbitmqSingleTarget {
  readonly kind: "rabbitmq";
  readonly server: string;
  readonly mode?: "single";
  readonly user: string;
}

/** Two RabbitMQ users taking turns: the active one for secret version v is users[(v - 1) % 2]. */
export interface RabbitmqAlternatingTarget {
  readonly kind: "rabbitmq";
  readonly server: string;
  readonly mode: "alternating";
  readonly users: readonly [string, string];
}

export type RabbitmqSecretTarget = RabbitmqSingleTarget | RabbitmqAlternatingTarget;

export interface TargetSpec {
  readonly name: string;
  readonly kind: "mariadb" | "rabbitmq";
  readonly host: string;
  readonly port: number;
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
}

export interface ServiceSpec {
  readonly name: string;
  readonly options: ReadonlyMap<string, ReadonlyMap<string, OptionSpec>>;
  readonly restart?: DriverStanza;
  readonly health?: HealthCheck;
  readonly rolling: RollingPolicy;
}

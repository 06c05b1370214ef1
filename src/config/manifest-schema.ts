import Type, { type Static, type TSchema } from "typebox";

/** Names end up in Vault paths, policy names and AppRole names, so they stay boring. */
export const SECRET_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;
export const SERVICE_NAME_PATTERN = /^[a-z][a-z0-9_-]*$/;
export const DEPLOYMENT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
export const VARIABLE_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** Wider than oslo.config's groups: paste-deploy sections such as `filter:authtoken` too. */
export const GROUP_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_:.-]*$/;
export const OPTION_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export const OPTION_TYPES = [
  "string",
  "integer",
  "float",
  "port",
  "boolean",
  "list",
  "dict",
  "ip",
  "hostname",
  "host_address",
  "uri",
  "multi_string",
] as const;
export type OptionType = (typeof OPTION_TYPES)[number];

const strict = { additionalProperties: false } as const;
const NonEmpty = Type.String({ minLength: 1 });
const Argv = Type.Array(NonEmpty, { minItems: 1 });
const Seconds = Type.Number({ exclusiveMinimum: 0 });
const Port = Type.Integer({ minimum: 1, maximum: 65535 });

/** Discriminated stanzas are validated in two steps (kind first, then the kind's own
 * schema) so an error names the real problem instead of every union branch. */
const Kinded = <K extends readonly string[]>(kinds: K) =>
  Type.Object({ kind: Type.Enum(kinds) }, { additionalProperties: true });
const OpenKinded = Type.Object({ kind: NonEmpty }, { additionalProperties: true });

export const GENERATOR_SCHEMAS = {
  alphanumeric: Type.Object(
    { kind: Type.Literal("alphanumeric"), length: Type.Integer({ minimum: 1, maximum: 65536 }) },
    strict,
  ),
  fernet: Type.Object({ kind: Type.Literal("fernet") }, strict),
  "fernet-keys": Type.Object(
    {
      kind: Type.Literal("fernet-keys"),
      count: Type.Optional(Type.Integer({ minimum: 2, maximum: 64 })),
      directory: Type.Optional(NonEmpty),
    },
    strict,
  ),
  uuid4: Type.Object({ kind: Type.Literal("uuid4") }, strict),
  cephx: Type.Object({ kind: Type.Literal("cephx") }, strict),
  "ssh-keypair": Type.Object(
    {
      kind: Type.Literal("ssh-keypair"),
      bits: Type.Optional(Type.Enum([2048, 3072, 4096])),
      comment: Type.Optional(Type.String()),
    },
    strict,
  ),
  "rndc-key": Type.Object({ kind: Type.Literal("rndc-key") }, strict),
  "random-bytes": Type.Object(
    {
      kind: Type.Literal("random-bytes"),
      bytes: Type.Integer({ minimum: 1, maximum: 65536 }),
      encoding: Type.Optional(Type.Enum(["base64", "base64url", "hex"])),
    },
    strict,
  ),
  /** Never generated: the operator must supply the value. */
  none: Type.Object({ kind: Type.Literal("none") }, strict),
  /** kolla-genpwd's: the HMAC-MD5 hex digest of a random UUID (designate_rndc_key). */
  "hmac-md5": Type.Object({ kind: Type.Literal("hmac-md5") }, strict),
  /** Ansible's random_salt: [A-Za-z0-9./] (a bcrypt or crypt salt). */
  "random-salt": Type.Object(
    { kind: Type.Literal("random-salt"), length: Type.Integer({ minimum: 1, maximum: 1024 }) },
    strict,
  ),
} satisfies Record<string, TSchema>;

export type GeneratorKind = keyof typeof GENERATOR_SCHEMAS;
export const GENERATOR_KINDS = Object.keys(GENERATOR_SCHEMAS) as GeneratorKind[];
export type GeneratorSpec = {
  [K in GeneratorKind]: Static<(typeof GENERATOR_SCHEMAS)[K]>;
}[GeneratorKind];

/** `user@host` as MariaDB spells accounts; the host part may be `%` or an address pattern. */
export const ACCOUNT_PATTERN = /^[^@\s]+@[^@\s]+$/;

/** Targets with users: `single` (one user's password changes) or `alternating` (two take turns). */
export const USER_TARGET_MODES = ["single", "alternating"] as const;
export type UserTargetMode = (typeof USER_TARGET_MODES)[number];

export const SECRET_TARGET_SCHEMAS = {
  mariadb: Type.Object(
    {
      kind: Type.Literal("mariadb"),
      server: Type.Optional(NonEmpty),
      accounts: Type.Array(Type.String({ pattern: ACCOUNT_PATTERN.source }), { minItems: 1 }),
    },
    strict,
  ),
  /** `single` (default): `user`'s password changes. `alternating`: `users` take turns; the
   * previous user keeps working until the consumers moved, then it is refused (retire). */
  rabbitmq: Type.Object(
    {
      kind: Type.Literal("rabbitmq"),
      server: Type.Optional(NonEmpty),
      mode: Type.Optional(Type.Enum(USER_TARGET_MODES)),
      user: Type.Optional(NonEmpty),
      users: Type.Optional(Type.Array(NonEmpty, { minItems: 2, maxItems: 2 })),
    },
    strict,
  ),
  /** A Keystone user (v3 API, through the `keystone` target's admin credential), single or
   * alternating as for RabbitMQ; `domain` is the users' domain name (default "Default"). */
  keystone: Type.Object(
    {
      kind: Type.Literal("keystone"),
      server: Type.Optional(NonEmpty),
      mode: Type.Optional(Type.Enum(USER_TARGET_MODES)),
      user: Type.Optional(NonEmpty),
      users: Type.Optional(Type.Array(NonEmpty, { minItems: 2, maxItems: 2 })),
      domain: Type.Optional(NonEmpty),
    },
    strict,
  ),
  /** Hooks get the new value on stdin, never in argv or the environment. */
  command: Type.Object(
    {
      kind: Type.Literal("command"),
      apply: Argv,
      verify: Type.Optional(Argv),
      timeout_seconds: Type.Optional(Seconds),
    },
    strict,
  ),
  none: Type.Object({ kind: Type.Literal("none") }, strict),
} satisfies Record<string, TSchema>;
export type SecretTargetKind = keyof typeof SECRET_TARGET_SCHEMAS;
export const SECRET_TARGET_KINDS = Object.keys(SECRET_TARGET_SCHEMAS) as SecretTargetKind[];

export const HTTP_URL_PATTERN = /^https?:\/\//;

const healthTiming = {
  timeout_seconds: Type.Optional(Seconds),
  retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
  interval_seconds: Type.Optional(Seconds),
};
export const HEALTH_SCHEMAS = {
  http: Type.Object(
    {
      kind: Type.Literal("http"),
      url: Type.String({ pattern: HTTP_URL_PATTERN.source }),
      /** A probe that proves function, e.g. a token request that must be refused with 401. */
      method: Type.Optional(
        Type.Union([Type.Literal("GET"), Type.Literal("HEAD"), Type.Literal("POST")]),
      ),
      /** Non-secret request headers (the manifest holds no secret). */
      headers: Type.Optional(
        Type.Record(Type.String({ pattern: "^[A-Za-z0-9-]+$" }), Type.String()),
      ),
      /** Request body, sent as given (set its Content-Type in `headers`). */
      body: Type.Optional(Type.String()),
      expect_status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
      /** PEM bundle to verify an https:// service with (a deployment's internal CA). */
      ca_file: Type.Optional(NonEmpty),
      ...healthTiming,
    },
    strict,
  ),
  tcp: Type.Object(
    { kind: Type.Literal("tcp"), host: NonEmpty, port: Port, ...healthTiming },
    strict,
  ),
  command: Type.Object({ kind: Type.Literal("command"), command: Argv, ...healthTiming }, strict),
} satisfies Record<string, TSchema>;
export type HealthKind = keyof typeof HEALTH_SCHEMAS;
export const HEALTH_KINDS = Object.keys(HEALTH_SCHEMAS) as HealthKind[];

/** Restarters are drivers registered by name (third-party ones too), so only the built-in
 * kinds' parameters are known here; the others are checked by their driver. */
export const RESTART_SCHEMAS: Record<string, TSchema> = {
  command: Type.Object(
    { kind: Type.Literal("command"), command: Argv, timeout_seconds: Type.Optional(Seconds) },
    strict,
  ),
  systemd: Type.Object(
    {
      kind: Type.Literal("systemd"),
      unit: Type.Optional(NonEmpty),
      timeout_seconds: Type.Optional(Seconds),
    },
    strict,
  ),
  kubernetes: Type.Object(
    {
      kind: Type.Literal("kubernetes"),
      /** deployment/NAME, statefulset/NAME or daemonset/NAME (`{service}`, `{instance}` filled). */
      resource: NonEmpty,
      namespace: Type.Optional(NonEmpty),
      /** The whole rollout (kubectl rollout status --timeout). */
      timeout_seconds: Type.Optional(Seconds),
      kubeconfig: Type.Optional(NonEmpty),
      context: Type.Optional(NonEmpty),
    },
    strict,
  ),
  signal: Type.Object(
    {
      kind: Type.Literal("signal"),
      signal: Type.Optional(Type.String({ pattern: "^(SIG)?[A-Z][A-Z0-9]*$" })),
      pid_file: NonEmpty,
    },
    strict,
  ),
};

/** Load balancers in front of a service's instances: drained before each instance restarts. */
export const LOAD_BALANCER_SCHEMAS: Record<string, TSchema> = {
  haproxy: Type.Object(
    {
      kind: Type.Literal("haproxy"),
      /** HAProxy's runtime API: a unix socket path, or host:port of a TCP stats socket. */
      socket: NonEmpty,
      backend: NonEmpty,
      /** The server's name in the backend; `{instance}` is the instance's name. */
      server: NonEmpty,
      /** How long to wait for the server's sessions to end before restarting anyway. */
      drain_timeout_seconds: Type.Optional(Seconds),
    },
    strict,
  ),
};

/** Kubernetes Secret data keys (the API server's rule). */
export const SINK_KEY_PATTERN = /^[-._a-zA-Z0-9]+$/;
/** Where values are delivered after a seed and a rotation's commit: `keys` maps each entry
 * (a Secret key) to a secret's name, `format` (a preset, kolla or osp-secret: checked by the
 * builder) names them as that format does; one at least, `keys` adding to and overriding the
 * preset's. The rest belongs to the sink's driver. */
const SinkKeys = Type.Record(Type.String({ pattern: SINK_KEY_PATTERN.source }), NonEmpty, {
  minProperties: 1,
});
const SinkStanza = Type.Object(
  { kind: NonEmpty, keys: Type.Optional(SinkKeys), format: Type.Optional(NonEmpty) },
  { additionalProperties: true },
);
export const SINK_SCHEMAS: Record<string, TSchema> = {
  "kubernetes-secret": Type.Object(
    {
      kind: Type.Literal("kubernetes-secret"),
      // Checked with every sink by ManifestSchema and the builder.
      keys: Type.Optional(Type.Unknown()),
      format: Type.Optional(Type.Unknown()),
      name: NonEmpty,
      /** Default: the kubeconfig context's namespace (a pod's own), else "default". */
      namespace: Type.Optional(NonEmpty),
      type: Type.Optional(NonEmpty),
      labels: Type.Optional(Type.Record(Type.String(), Type.String())),
      kubeconfig: Type.Optional(NonEmpty),
      context: Type.Optional(NonEmpty),
    },
    strict,
  ),
};

/** An instance of a service (an API process, a node): `name` plus values for `{instance.KEY}`. */
export const INSTANCE_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const InstanceSchema = Type.Object(
  { name: Type.String({ pattern: INSTANCE_NAME_PATTERN.source }) },
  { additionalProperties: Type.Union([Type.String(), Type.Number()]) },
);

/** A file a service needs that holds a secret (key repositories): a string secret at `path`,
 * or each entry of a map secret ({<any path>/<file>: {content}}, TripleO's shape) in `dir`. */
export const RELATIVE_PATH_PATTERN = /^(?!\/)(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9_./-]+$/;
const FileSchema = Type.Object(
  {
    secret: NonEmpty,
    path: Type.Optional(Type.String({ pattern: RELATIVE_PATH_PATTERN.source })),
    dir: Type.Optional(Type.String({ pattern: RELATIVE_PATH_PATTERN.source })),
  },
  strict,
);

export const TARGET_KINDS = ["mariadb", "rabbitmq", "keystone"] as const;
export const TargetSchema = Type.Object(
  {
    kind: Type.Enum(TARGET_KINDS),
    /** mariadb, rabbitmq: the server's address. */
    host: Type.Optional(NonEmpty),
    /** keystone: the identity API, e.g. http://controller:5000/v3. */
    url: Type.Optional(Type.String({ pattern: HTTP_URL_PATTERN.source })),
    /** keystone: the admin's project (default "admin") and the domain of both (default "Default"). */
    admin_project: Type.Optional(NonEmpty),
    admin_domain: Type.Optional(NonEmpty),
    /** keystone: PEM bundle verifying an https:// url. */
    ca_file: Type.Optional(NonEmpty),
    port: Type.Optional(Port),
    admin_user: Type.Optional(NonEmpty),
    admin_secret: NonEmpty,
    tls: Type.Optional(Type.Boolean()),
    /** rabbitmq only: the Erlang node rabbitmqctl talks to (default: rabbitmqctl's own). */
    node: Type.Optional(NonEmpty),
    /** rabbitmq only: how to run rabbitmqctl, e.g. [podman, exec, -i, rabbitmq, rabbitmqctl]. */
    rabbitmqctl: Type.Optional(Argv),
  },
  strict,
);

const OptionSchema = Type.Object(
  {
    type: Type.Optional(Type.Enum(OPTION_TYPES)),
    secret: Type.Optional(Type.Boolean()),
    // Checked by hand: oslo defaults may be scalars, lists or maps.
    default: Type.Optional(Type.Unknown()),
    // Checked by hand: a template, or a list of templates for multi_string.
    value: Type.Optional(Type.Unknown()),
    help: Type.Optional(Type.String()),
  },
  strict,
);

const SecretSchema = Type.Object(
  {
    generator: Type.Optional(Kinded(GENERATOR_KINDS)),
    rotate: Type.Optional(
      Type.Object(
        {
          allowed: Type.Optional(Type.Boolean()),
          schedule: Type.Optional(NonEmpty),
          reason: Type.Optional(NonEmpty),
        },
        strict,
      ),
    ),
    // Checked by hand: one target stanza or a list of them.
    target: Type.Optional(Type.Unknown()),
    description: Type.Optional(Type.String()),
  },
  strict,
);

const ServiceSchema = Type.Object(
  {
    options: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), OptionSchema))),
    restart: Type.Optional(OpenKinded),
    health: Type.Optional(Kinded(HEALTH_KINDS)),
    /** Restarted one at a time (or `max_parallel`), each drained first when `load_balancer`. */
    instances: Type.Optional(Type.Array(InstanceSchema, { minItems: 1 })),
    load_balancer: Type.Optional(OpenKinded),
    files: Type.Optional(Type.Array(FileSchema)),
    rolling: Type.Optional(
      Type.Object(
        {
          max_parallel: Type.Optional(Type.Integer({ minimum: 1 })),
          pause_seconds: Type.Optional(Type.Number({ minimum: 0 })),
          /** Restart plus health check of one consumer. */
          timeout_seconds: Type.Optional(Seconds),
          /** A restarted consumer counts only once it fetched its config from the broker with
           * the new value (default true; false for consumers that read it elsewhere). */
          confirm_fetch: Type.Optional(Type.Boolean()),
        },
        strict,
      ),
    ),
  },
  strict,
);

/** A KV mount or a path inside one: segments of letters, digits, `_`, `-` and `.`. */
export const KV_PATH_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;
/** kolla's own Vault layout (`kolla-writepwd`): `<mount>/<path>/<key>`, default kv/kolla_passwords. */
const KollaVaultSchema = Type.Object(
  {
    mount: Type.Optional(Type.String({ pattern: KV_PATH_PATTERN.source })),
    path: Type.Optional(Type.String({ pattern: KV_PATH_PATTERN.source })),
  },
  strict,
);

export const ManifestSchema = Type.Object(
  {
    deployment: Type.Object(
      {
        name: NonEmpty,
        /** Lifetime of the AppRole secret-id in each service kit (seconds or 30m, 720h, 30d). */
        kit_secret_id_ttl: Type.Optional(
          Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1 })]),
        ),
        kolla_vault: Type.Optional(KollaVaultSchema),
      },
      strict,
    ),
    secrets: Type.Optional(Type.Record(Type.String(), SecretSchema)),
    services: Type.Optional(Type.Record(Type.String(), ServiceSchema)),
    targets: Type.Optional(Type.Record(Type.String(), TargetSchema)),
    variables: Type.Optional(Type.Record(Type.String(), Type.String())),
    drivers: Type.Optional(
      Type.Array(
        Type.Object(
          { module: NonEmpty, config: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
          strict,
        ),
      ),
    ),
    sinks: Type.Optional(Type.Array(SinkStanza)),
  },
  strict,
);
export type RawManifest = Static<typeof ManifestSchema>;
export type RawSecret = Static<typeof SecretSchema>;
export type RawService = Static<typeof ServiceSchema>;
export type RawOption = Static<typeof OptionSchema>;
export type RawTarget = Static<typeof TargetSchema>;

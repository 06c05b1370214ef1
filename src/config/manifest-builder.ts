import { dirname, isAbsolute, resolve } from "node:path";
import { Cron } from "croner";
import { parseDurationSeconds } from "../lib/durations.js";
import { isLoopback } from "../lib/loopback.js";
import { kollaGeneratorSpec } from "./kolla-passwords.js";
import {
  DEPLOYMENT_NAME_PATTERN,
  type GeneratorSpec,
  GROUP_NAME_PATTERN,
  type HealthKind,
  OPTION_NAME_PATTERN,
  type OptionType,
  type RawManifest,
  type RawOption,
  type RawSecret,
  type RawService,
  SECRET_NAME_PATTERN,
  SERVICE_NAME_PATTERN,
  type SecretTargetKind,
  type UserTargetMode,
  VARIABLE_NAME_PATTERN,
} from "./manifest-schema.js";
import { isRecord } from "./manifest-shape.js";
import type {
  DriverStanza,
  HealthCheck,
  Manifest,
  OptionSpec,
  RotatePolicy,
  SecretSpec,
  SecretTarget,
  ServiceFile,
  ServiceInstance,
  ServiceSpec,
  SinkSpec,
  TargetSpec,
  UserSecretTarget,
} from "./manifest-types.js";
import {
  isKeyedPasswordFormat,
  KEY_SOURCES,
  KEYED_PASSWORD_FORMATS,
  passwordKeySources,
} from "./password-keys.js";
import { parseTemplate, referencesIn, type Template, TemplateSyntaxError } from "./template.js";
import {
  DEFAULT_PASSWORD_LENGTH,
  isTripleoParameter,
  LEGACY_PARAMETERS,
  rotationRefusal,
  tripleoGeneratorSpec,
} from "./tripleo-parameters.js";
import type { PathSegment, Problem, YamlSource } from "./yaml-source.js";

const TARGET_DEFAULTS = {
  mariadb: { port: 3306, adminUser: "root" },
  rabbitmq: { port: 15672, adminUser: "guest" },
  keystone: { port: 0, adminUser: "admin" },
} as const;
/** Keys that belong to one kind of target only. */
const TARGET_ONLY_KEYS = {
  node: "rabbitmq",
  rabbitmqctl: "rabbitmq",
  url: "keystone",
  admin_project: "keystone",
  admin_domain: "keystone",
  ca_file: "keystone",
} as const;
const DEFAULT_KEYSTONE_DOMAIN = "Default";
const HEALTH_DEFAULTS = { timeoutSeconds: 5, retries: 10, intervalSeconds: 3 };
const ROLLING_DEFAULTS = {
  maxParallel: 1,
  pauseSeconds: 0,
  timeoutSeconds: 300,
  confirmFetch: true,
};
const MAP_GENERATORS: ReadonlySet<string> = new Set(["fernet-keys", "ssh-keypair"]);

/** The generator of a secret the manifest gives none: TripleO's or kolla's rule for its name. */
const defaultGeneratorSpec = (name: string): GeneratorSpec =>
  tripleoGeneratorSpec(name) ??
  kollaGeneratorSpec(name) ?? { kind: "alphanumeric", length: DEFAULT_PASSWORD_LENGTH };

/** The semantic pass: names, references, templates and defaults. Collects every problem. */
export class ManifestBuilder {
  readonly problems: Problem[] = [];

  constructor(
    private readonly source: YamlSource,
    private readonly raw: RawManifest,
  ) {}

  private problem(path: PathSegment[], reason: string, key = false): void {
    this.problems.push(this.source.problemAt(path, reason, key));
  }

  private checkName(path: PathSegment[], pattern: RegExp, what: string): void {
    const name = String(path.at(-1));
    if (!pattern.test(name)) this.problem(path, `invalid ${what} name "${name}"`, true);
  }

  private kitSecretIdTtl(): number {
    const ttl = this.raw.deployment.kit_secret_id_ttl;
    if (ttl === undefined) return 0;
    try {
      return parseDurationSeconds(ttl, "kit_secret_id_ttl");
    } catch (error) {
      this.problem(["deployment", "kit_secret_id_ttl"], (error as Error).message);
      return 0;
    }
  }

  build(): Manifest {
    const { raw } = this;
    if (!DEPLOYMENT_NAME_PATTERN.test(raw.deployment.name)) {
      this.problem(
        ["deployment", "name"],
        "invalid deployment name: use lower-case letters, digits, '-' and '_'",
      );
    }
    const variables = new Map<string, string>();
    for (const [name, value] of Object.entries(raw.variables ?? {})) {
      this.checkName(["variables", name], VARIABLE_NAME_PATTERN, "variable");
      variables.set(name, value);
    }
    const secretNames = new Set(Object.keys(raw.secrets ?? {}));
    const targets = this.buildTargets(secretNames);
    const secrets = new Map<string, SecretSpec>();
    for (const [name, spec] of Object.entries(raw.secrets ?? {})) {
      secrets.set(name, this.buildSecret(name, spec, targets));
    }
    const services = new Map<string, ServiceSpec>();
    for (const [name, spec] of Object.entries(raw.services ?? {})) {
      services.set(name, this.buildService(name, spec, secretNames, variables));
    }
    return {
      file: this.source.file,
      deployment: {
        name: raw.deployment.name,
        kitSecretIdTtl: this.kitSecretIdTtl(),
        ...(raw.deployment.kolla_vault && { kollaVault: raw.deployment.kolla_vault }),
      },
      secrets,
      services,
      targets,
      variables,
      drivers: (raw.drivers ?? []).map((d) => ({
        module: isAbsolute(d.module) ? d.module : resolve(dirname(this.source.file), d.module),
        config: d.config ?? {},
      })),
      sinks: this.buildSinks(secrets),
    };
  }

  /** Each sink's complete `keys`: its `format` preset's (a key per secret of this manifest that
   * is its source and holds a string), then its own `keys`, which add and override. The driver
   * gets the stanza with these keys and without `format`. */
  private buildSinks(secrets: ReadonlyMap<string, SecretSpec>): SinkSpec[] {
    return (this.raw.sinks ?? []).map((stanza, i) => {
      const { format, ...rest } = stanza;
      const keys = new Map<string, string>();
      if (format === undefined) {
        if (stanza.keys === undefined) {
          this.problem(["sinks", i], `sinks[${i}]: needs "keys", "format" or both`);
        }
      } else if (!isKeyedPasswordFormat(format)) {
        this.problem(
          ["sinks", i, "format"],
          `sinks[${i}]: unknown format "${format}": use ${KEYED_PASSWORD_FORMATS.join(" or ")}`,
        );
      } else {
        for (const [key, source] of passwordKeySources(format, new Set(secrets.keys()))) {
          if (source === undefined) continue;
          if (!MAP_GENERATORS.has(secrets.get(source)!.generator.kind)) keys.set(key, source);
        }
        if (keys.size === 0) {
          this.problem(
            ["sinks", i, "format"],
            `sinks[${i}]: format ${format} gives no key: no string secret of this manifest is the source of one (${KEY_SOURCES[format]})`,
          );
        }
      }
      for (const [key, secret] of Object.entries(stanza.keys ?? {})) {
        if (!secrets.has(secret)) {
          this.problem(["sinks", i, "keys", key], `sink key "${key}": unknown secret "${secret}"`);
        }
        keys.set(key, secret);
      }
      return {
        kind: stanza.kind,
        keys,
        stanza: { ...rest, keys: Object.fromEntries(keys) } as DriverStanza,
      };
    });
  }

  private buildTargets(secretNames: ReadonlySet<string>): Map<string, TargetSpec> {
    const targets = new Map<string, TargetSpec>();
    for (const [name, t] of Object.entries(this.raw.targets ?? {})) {
      this.checkName(["targets", name], VARIABLE_NAME_PATTERN, "target");
      if (!secretNames.has(t.admin_secret)) {
        this.problem(
          ["targets", name, "admin_secret"],
          `target "${name}": unknown secret "${t.admin_secret}" (list it under secrets)`,
        );
      }
      const defaults = TARGET_DEFAULTS[t.kind];
      for (const [key, kind] of Object.entries(TARGET_ONLY_KEYS)) {
        if (t[key as keyof typeof TARGET_ONLY_KEYS] !== undefined && t.kind !== kind) {
          this.problem(["targets", name, key], `"${key}" is for ${kind} targets only`, true);
        }
      }
      if (t.kind === "keystone") {
        if (t.url === undefined) this.problem(["targets", name], 'a keystone target needs "url"');
        for (const key of ["host", "port", "tls"] as const) {
          if (t[key] !== undefined) {
            this.problem(
              ["targets", name, key],
              `a keystone target takes "url", not "${key}"`,
              true,
            );
          }
        }
      } else if (t.host === undefined) {
        this.problem(["targets", name], `a ${t.kind} target needs "host"`);
      } else if (
        t.kind === "rabbitmq" &&
        !isLoopback(t.host) &&
        t.node === undefined &&
        t.rabbitmqctl === undefined
      ) {
        // rabbitmqctl reaches Erlang nodes by name: without one it would change this machine's.
        this.problem(
          ["targets", name, "host"],
          `rabbitmqctl reaches a node by name, not by host: set "node" (e.g. rabbit@controller-0) or "rabbitmqctl" (e.g. [ssh, controller-0, rabbitmqctl]) for ${t.host}`,
        );
      }
      const manifestDir = dirname(this.source.file);
      targets.set(name, {
        name,
        kind: t.kind,
        host: t.host ?? "",
        port: t.port ?? defaults.port,
        adminUser: t.admin_user ?? defaults.adminUser,
        adminSecret: t.admin_secret,
        tls: t.tls ?? t.url?.startsWith("https://") ?? false,
        ...(t.node !== undefined && { node: t.node }),
        ...(t.rabbitmqctl !== undefined && { rabbitmqctl: t.rabbitmqctl }),
        ...(t.url !== undefined && { url: t.url.replace(/\/+$/, "") }),
        ...(t.kind === "keystone" && {
          adminProject: t.admin_project ?? "admin",
          adminDomain: t.admin_domain ?? DEFAULT_KEYSTONE_DOMAIN,
        }),
        ...(t.ca_file !== undefined && { caFile: resolve(manifestDir, t.ca_file) }),
      });
    }
    return targets;
  }

  private buildSecret(
    name: string,
    spec: RawSecret,
    targets: ReadonlyMap<string, TargetSpec>,
  ): SecretSpec {
    const path = ["secrets", name];
    this.checkName(path, SECRET_NAME_PATTERN, "secret");
    const legacy = LEGACY_PARAMETERS.get(name);
    if (legacy?.replacedBy) {
      this.problem(path, `${name} is a legacy TripleO name: use ${legacy.replacedBy}`, true);
    }
    const generator = (spec.generator as GeneratorSpec | undefined) ?? defaultGeneratorSpec(name);
    return {
      name,
      generator,
      rotate: this.buildRotate(name, spec),
      targets: this.buildSecretTargets(name, spec, generator, targets),
      tripleo: isTripleoParameter(name),
    };
  }

  private buildRotate(name: string, spec: RawSecret): RotatePolicy {
    const path = ["secrets", name, "rotate"];
    const refusal = rotationRefusal(name);
    const rotate = spec.rotate ?? {};
    if (refusal && rotate.allowed === true) {
      this.problem([...path, "allowed"], `${name} may not rotate: ${refusal}`);
    }
    const allowed = rotate.allowed ?? !refusal;
    if (rotate.schedule !== undefined) {
      if (!allowed) {
        this.problem([...path, "schedule"], `${name} has a schedule but may not rotate`);
      } else {
        const reason = cronProblem(rotate.schedule);
        if (reason) this.problem([...path, "schedule"], `invalid cron schedule: ${reason}`);
      }
    }
    const reason = rotate.reason ?? (allowed ? undefined : refusal);
    return {
      allowed,
      ...(rotate.schedule !== undefined && { schedule: rotate.schedule }),
      ...(reason !== undefined && { reason }),
    };
  }

  private buildSecretTargets(
    name: string,
    spec: RawSecret,
    generator: GeneratorSpec,
    targets: ReadonlyMap<string, TargetSpec>,
  ): SecretTarget[] {
    if (spec.target === undefined) return [];
    const listed = Array.isArray(spec.target);
    const stanzas = (listed ? spec.target : [spec.target]) as Array<Record<string, unknown>>;
    const result: SecretTarget[] = [];
    stanzas.forEach((stanza, i) => {
      const path = ["secrets", name, "target", ...(listed ? [i] : [])];
      const kind = stanza.kind as SecretTargetKind;
      if (kind === "none") return;
      if (MAP_GENERATORS.has(generator.kind)) {
        this.problem(path, `${name} holds a map value and cannot have a ${kind} target`);
      }
      if (kind === "command") {
        result.push({
          kind,
          apply: stanza.apply as string[],
          ...(stanza.verify !== undefined && { verify: stanza.verify as string[] }),
          ...(stanza.timeout_seconds !== undefined && {
            timeoutSeconds: stanza.timeout_seconds as number,
          }),
        });
        return;
      }
      const server = this.resolveServer(kind, stanza.server as string | undefined, path, targets);
      if (kind === "mariadb") {
        const accounts = (stanza.accounts as string[]).map((account) => {
          const at = account.lastIndexOf("@");
          return { user: account.slice(0, at), host: account.slice(at + 1) };
        });
        result.push({ kind, server, accounts });
        return;
      }
      const target = this.buildUserTarget(kind, stanza, server, path);
      if (!target) return;
      if (kind === "keystone") {
        result.push({
          ...(target as UserSecretTarget<"keystone">),
          domain: (stanza.domain as string | undefined) ?? DEFAULT_KEYSTONE_DOMAIN,
        });
      } else {
        result.push(target as UserSecretTarget<"rabbitmq">);
      }
    });
    return result;
  }

  private buildUserTarget<K extends "rabbitmq" | "keystone">(
    kind: K,
    stanza: Record<string, unknown>,
    server: string,
    path: PathSegment[],
  ): UserSecretTarget<K> | undefined {
    const mode = (stanza.mode as UserTargetMode | undefined) ?? "single";
    const { user, users } = stanza as { user?: string; users?: [string, string] };
    if (mode === "single") {
      if (users !== undefined) {
        this.problem([...path, "users"], '"users" needs mode: alternating (or use "user")', true);
      }
      if (user === undefined) {
        this.problem(path, `a ${kind} target needs "user" (or mode: alternating with "users")`);
        return undefined;
      }
      return { kind, server, user };
    }
    if (user !== undefined) {
      this.problem([...path, "user"], 'mode: alternating takes "users: [a, b]", not "user"', true);
    }
    if (users === undefined) {
      this.problem(path, 'mode: alternating needs "users: [a, b]" (two user names)');
      return undefined;
    }
    if (users[0] === users[1]) {
      this.problem([...path, "users"], "mode: alternating needs two different users");
    }
    return { kind, server, mode, users };
  }

  private resolveServer(
    kind: TargetSpec["kind"],
    server: string | undefined,
    path: PathSegment[],
    targets: ReadonlyMap<string, TargetSpec>,
  ): string {
    if (server !== undefined) {
      const target = targets.get(server);
      if (!target) this.problem([...path, "server"], `unknown target "${server}"`);
      else if (target.kind !== kind) {
        this.problem(
          [...path, "server"],
          `target "${server}" is a ${target.kind} target, not ${kind}`,
        );
      }
      return server;
    }
    const candidates = [...targets.values()].filter((t) => t.kind === kind);
    if (candidates.length !== 1) {
      this.problem(
        path,
        candidates.length === 0
          ? `no ${kind} target is defined under targets`
          : `several ${kind} targets: name one with "server"`,
      );
      return "";
    }
    return candidates[0]!.name;
  }

  private buildService(
    name: string,
    spec: RawService,
    secretNames: ReadonlySet<string>,
    variables: ReadonlyMap<string, string>,
  ): ServiceSpec {
    const path = ["services", name];
    this.checkName(path, SERVICE_NAME_PATTERN, "service");
    const options = new Map<string, Map<string, OptionSpec>>();
    for (const [group, groupOptions] of Object.entries(spec.options ?? {})) {
      this.checkName([...path, "options", group], GROUP_NAME_PATTERN, "group");
      const built = new Map<string, OptionSpec>();
      for (const [option, raw] of Object.entries(groupOptions)) {
        const optionPath = [...path, "options", group, option];
        this.checkName(optionPath, OPTION_NAME_PATTERN, "option");
        const where = `service "${name}" [${group}] ${option}`;
        built.set(option, this.buildOption(where, optionPath, raw, secretNames, variables));
      }
      options.set(group, built);
    }
    const rolling = spec.rolling ?? {};
    if (spec.load_balancer && !spec.instances) {
      this.problem(
        [...path, "load_balancer"],
        `service "${name}": a load balancer needs "instances" (the servers it drains one by one)`,
      );
    }
    return {
      name,
      options,
      ...(spec.restart && { restart: spec.restart as DriverStanza }),
      ...(spec.health && {
        health: buildHealth(spec.health as Record<string, unknown>, dirname(this.source.file)),
      }),
      instances: this.buildInstances(name, spec),
      ...(spec.load_balancer && { loadBalancer: spec.load_balancer as DriverStanza }),
      files: this.buildFiles(name, spec, secretNames),
      rolling: {
        maxParallel: rolling.max_parallel ?? ROLLING_DEFAULTS.maxParallel,
        pauseSeconds: rolling.pause_seconds ?? ROLLING_DEFAULTS.pauseSeconds,
        timeoutSeconds: rolling.timeout_seconds ?? ROLLING_DEFAULTS.timeoutSeconds,
        confirmFetch: rolling.confirm_fetch ?? ROLLING_DEFAULTS.confirmFetch,
      },
    };
  }

  private buildInstances(name: string, spec: RawService): ServiceInstance[] {
    const seen = new Set<string>();
    return (spec.instances ?? []).map((raw, i) => {
      const { name: instance, ...rest } = raw as { name: string } & Record<string, unknown>;
      if (seen.has(instance)) {
        this.problem(
          ["services", name, "instances", i, "name"],
          `service "${name}": instance "${instance}" is listed twice`,
        );
      }
      seen.add(instance);
      const values = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, String(v)]));
      return { name: instance, values };
    });
  }

  private buildFiles(
    name: string,
    spec: RawService,
    secretNames: ReadonlySet<string>,
  ): ServiceFile[] {
    const files: ServiceFile[] = [];
    const paths = new Set<string>();
    (spec.files ?? []).forEach((file, i) => {
      const path = ["services", name, "files", i];
      if (!secretNames.has(file.secret)) {
        this.problem([...path, "secret"], `service "${name}": unknown secret "${file.secret}"`);
      }
      const isMap = MAP_GENERATORS.has(this.generatorKindOf(file.secret));
      if ((file.path === undefined) === (file.dir === undefined)) {
        this.problem(path, 'a file takes "path" (a string secret) or "dir" (a map secret)');
        return;
      }
      if (file.dir !== undefined && !isMap) {
        this.problem([...path, "dir"], `${file.secret} is not a map secret: use "path"`, true);
      }
      if (file.path !== undefined && isMap) {
        this.problem([...path, "path"], `${file.secret} is a map of files: use "dir"`, true);
      }
      const where = file.path ?? file.dir!;
      if (paths.has(where)) this.problem(path, `service "${name}": "${where}" is written twice`);
      paths.add(where);
      files.push(
        file.path !== undefined
          ? { secret: file.secret, path: file.path }
          : { secret: file.secret, dir: file.dir! },
      );
    });
    return files;
  }

  /** The generator kind of a listed secret (TripleO's rule when it has none of its own). */
  private generatorKindOf(secret: string): string {
    const own = this.raw.secrets?.[secret]?.generator as GeneratorSpec | undefined;
    return (own ?? defaultGeneratorSpec(secret)).kind;
  }

  private buildOption(
    where: string,
    path: PathSegment[],
    raw: RawOption,
    secretNames: ReadonlySet<string>,
    variables: ReadonlyMap<string, string>,
  ): OptionSpec {
    const type = raw.type ?? "string";
    const value = this.buildValue(where, path, type, raw.value);
    const referenced = new Set<string>();
    for (const template of value === undefined ? [] : Array.isArray(value) ? value : [value]) {
      for (const secret of referencesIn(template, "secret")) {
        referenced.add(secret);
        if (!secretNames.has(secret)) {
          this.problem([...path, "value"], `${where}: unknown secret "${secret}"`);
        }
      }
      for (const variable of referencesIn(template, "var")) {
        if (!variables.has(variable)) {
          this.problem([...path, "value"], `${where}: unknown variable "${variable}"`);
        }
      }
    }
    if (raw.secret === false && referenced.size > 0) {
      this.problem(
        [...path, "secret"],
        `${where}: references a secret, so it cannot be secret: false`,
      );
    }
    const defaultValue = this.buildDefault(where, [...path, "default"], raw.default);
    return {
      type,
      secret: raw.secret ?? referenced.size > 0,
      ...(defaultValue !== undefined && { default: defaultValue }),
      ...(value !== undefined && { value }),
      ...(raw.help !== undefined && { help: raw.help }),
    };
  }

  private buildValue(
    where: string,
    path: PathSegment[],
    type: OptionType,
    value: unknown,
  ): Template | Template[] | undefined {
    if (value === undefined || value === null) return undefined;
    const valuePath = [...path, "value"];
    const parse = (text: string, at: PathSegment[]) => {
      try {
        return parseTemplate(text);
      } catch (err) {
        if (!(err instanceof TemplateSyntaxError)) throw err;
        this.problem(at, `${where}: ${err.message} (at character ${err.offset + 1} of the value)`);
        return undefined;
      }
    };
    if (typeof value === "string") return parse(value, valuePath);
    if (
      type === "multi_string" &&
      Array.isArray(value) &&
      value.every((v) => typeof v === "string")
    ) {
      return value.flatMap((v, i) => parse(v, [...valuePath, i]) ?? []);
    }
    this.problem(
      valuePath,
      `${where}: value must be a string${type === "multi_string" ? " or a list of strings" : ""} (quote it)`,
    );
    return undefined;
  }

  private buildDefault(where: string, path: PathSegment[], value: unknown): string | undefined {
    if (value === undefined || value === null) return undefined;
    const scalar = (v: unknown) =>
      typeof v === "string" || typeof v === "number" || typeof v === "boolean"
        ? String(v)
        : undefined;
    if (Array.isArray(value)) {
      const items = value.map(scalar);
      if (items.every((i) => i !== undefined)) return items.join(",");
    } else if (isRecord(value)) {
      const pairs = Object.entries(value).map(([k, v]) =>
        scalar(v) === undefined ? undefined : `${k}:${scalar(v)}`,
      );
      if (pairs.every((p) => p !== undefined)) return pairs.join(",");
    } else if (scalar(value) !== undefined) {
      return scalar(value);
    }
    this.problem(path, `${where}: default must be a scalar, a list of scalars or a flat map`);
    return undefined;
  }
}

function buildHealth(raw: Record<string, unknown>, manifestDir: string): HealthCheck {
  const optional = <T>(key: string, value: T | undefined) =>
    value === undefined ? {} : { [key]: value };
  const caFile = raw.ca_file as string | undefined;
  return {
    kind: raw.kind as HealthKind,
    ...optional("url", raw.url as string | undefined),
    ...optional("method", raw.method as HealthCheck["method"]),
    ...optional("headers", raw.headers as Record<string, string> | undefined),
    ...optional("body", raw.body as string | undefined),
    ...optional("expectStatus", raw.expect_status as number | undefined),
    ...optional("caFile", caFile === undefined ? undefined : resolve(manifestDir, caFile)),
    ...optional("host", raw.host as string | undefined),
    ...optional("port", raw.port as number | undefined),
    ...optional("command", raw.command as string[] | undefined),
    timeoutSeconds: (raw.timeout_seconds as number | undefined) ?? HEALTH_DEFAULTS.timeoutSeconds,
    retries: (raw.retries as number | undefined) ?? HEALTH_DEFAULTS.retries,
    intervalSeconds:
      (raw.interval_seconds as number | undefined) ?? HEALTH_DEFAULTS.intervalSeconds,
  };
}

function cronProblem(pattern: string): string | undefined {
  try {
    new Cron(pattern, { paused: true }).stop();
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^CronPattern: /, "");
  }
}

import type { TSchema } from "typebox";
import Value from "typebox/value";
import {
  ACCOUNT_PATTERN,
  GENERATOR_SCHEMAS,
  HEALTH_SCHEMAS,
  HTTP_URL_PATTERN,
  LOAD_BALANCER_SCHEMAS,
  RESTART_SCHEMAS,
  SECRET_TARGET_KINDS,
  SECRET_TARGET_SCHEMAS,
  SINK_SCHEMAS,
} from "./manifest-schema.js";
import type { PathSegment, Problem, YamlSource } from "./yaml-source.js";

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const decodePointer = (pointer: string): string[] =>
  pointer === ""
    ? []
    : pointer
        .slice(1)
        .split("/")
        .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));

const PATTERN_REASONS: Record<string, string> = {
  [ACCOUNT_PATTERN.source]: "must be an account as user@host",
  [HTTP_URL_PATTERN.source]: "must be an http:// or https:// URL",
};

const TYPE_NAMES: Record<string, string> = {
  object: "a map",
  array: "a list",
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
};

/** Schema violations, worded for people and located in the YAML text. */
export function schemaProblems(
  source: YamlSource,
  schema: TSchema,
  value: unknown,
  prefix: readonly PathSegment[],
): Problem[] {
  const problems: Problem[] = [];
  for (const error of Value.Errors(schema, value)) {
    const path = [...prefix, ...decodePointer(error.instancePath)];
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case "additionalProperties":
        break; // reported per key by the "boolean" error that comes with it
      case "boolean":
        problems.push(source.problemAt(path, `unknown key "${path.at(-1)}"`, true));
        break;
      case "required":
        for (const key of params.requiredProperties as string[]) {
          problems.push(source.problemAt(path, `missing required key "${key}"`, true));
        }
        break;
      case "type":
        problems.push(
          source.problemAt(path, `must be ${TYPE_NAMES[String(params.type)] ?? params.type}`),
        );
        break;
      case "enum":
        problems.push(
          source.problemAt(
            path,
            `must be one of: ${(params.allowedValues as unknown[]).join(", ")}`,
          ),
        );
        break;
      case "pattern":
        problems.push(
          source.problemAt(path, PATTERN_REASONS[String(params.pattern)] ?? error.message),
        );
        break;
      case "minItems":
      case "minLength":
      case "minProperties":
        problems.push(
          source.problemAt(path, params.limit === 1 ? "must not be empty" : error.message),
        );
        break;
      default:
        problems.push(source.problemAt(path, error.message));
    }
  }
  return problems;
}

/** Second validation step for the stanzas whose schema depends on their `kind`. */
export function stanzaProblems(source: YamlSource, raw: unknown): Problem[] {
  if (!isRecord(raw)) return [];
  const problems: Problem[] = [];
  const check = (schemas: Record<string, TSchema>, value: unknown, path: PathSegment[]) => {
    if (!isRecord(value) || typeof value.kind !== "string") return;
    const schema = schemas[value.kind];
    if (schema) problems.push(...schemaProblems(source, schema, value, path));
  };
  for (const [name, secret] of Object.entries(isRecord(raw.secrets) ? raw.secrets : {})) {
    if (!isRecord(secret)) continue;
    const path = ["secrets", name];
    check(GENERATOR_SCHEMAS, secret.generator, [...path, "generator"]);
    if (secret.target === undefined) continue;
    const targets = Array.isArray(secret.target) ? secret.target : [secret.target];
    targets.forEach((target, i) => {
      const at = Array.isArray(secret.target) ? [...path, "target", i] : [...path, "target"];
      if (!isRecord(target)) {
        problems.push(source.problemAt(at, "must be a target map (or a list of them)"));
      } else if (!(SECRET_TARGET_KINDS as unknown[]).includes(target.kind)) {
        problems.push(
          source.problemAt([...at, "kind"], `must be one of: ${SECRET_TARGET_KINDS.join(", ")}`),
        );
      } else {
        check(SECRET_TARGET_SCHEMAS, target, at);
      }
    });
  }
  for (const [name, service] of Object.entries(isRecord(raw.services) ? raw.services : {})) {
    if (!isRecord(service)) continue;
    check(RESTART_SCHEMAS, service.restart, ["services", name, "restart"]);
    check(HEALTH_SCHEMAS, service.health, ["services", name, "health"]);
    check(LOAD_BALANCER_SCHEMAS, service.load_balancer, ["services", name, "load_balancer"]);
  }
  if (Array.isArray(raw.sinks)) {
    raw.sinks.forEach((sink, i) => {
      check(SINK_SCHEMAS, sink, ["sinks", i]);
    });
  }
  return problems;
}

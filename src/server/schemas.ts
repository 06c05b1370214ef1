import Type from "typebox";
import {
  GROUP_NAME_PATTERN,
  OPTION_NAME_PATTERN,
  OPTION_TYPES,
  SECRET_NAME_PATTERN,
  SERVICE_NAME_PATTERN,
} from "../config/manifest-schema.js";
import { ERRORS } from "../lib/errors.js";
import { SEED_FORMATS } from "../seed/inputs.js";

/** The seed route's own body limit: a TripleO passwords file with keys and certificates is big. */
export const SEED_BODY_LIMIT = 8 * 1024 * 1024;
/** Every other route. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

const name = (pattern: RegExp, description: string) =>
  Type.String({ pattern: pattern.source, minLength: 1, maxLength: 100, description });

export const ServiceName = name(SERVICE_NAME_PATTERN, "Service name from the manifest, e.g. nova");
export const SecretName = name(SECRET_NAME_PATTERN, "Secret name, e.g. NovaPassword");

export const ServiceParams = Type.Object({ service: ServiceName });
export const OptionParams = Type.Object({
  service: ServiceName,
  group: name(GROUP_NAME_PATTERN, "oslo.config group, e.g. database or DEFAULT"),
  option: name(OPTION_NAME_PATTERN, "oslo.config option name, e.g. connection"),
});
export const SecretParams = Type.Object({ name: SecretName });
export const RotationParams = Type.Object({
  id: Type.String({ pattern: "^[A-Za-z0-9_-]+$", maxLength: 128, description: "Rotation id" }),
});

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({
        description: "Stable STRONGROOM_ERR_* code",
        examples: [ERRORS.STRONGROOM_ERR_NOT_FOUND.code],
      }),
      message: Type.String({ description: "For people; never contains a secret value" }),
    }),
  },
  { description: "Error" },
);
/** Attached to every route's response map so errors serialize (and document) as an allow-list. */
export const ERROR_RESPONSES = { "4xx": ErrorBody, "5xx": ErrorBody } as const;

export const Location = Type.Object({
  source: Type.String({
    description: "environment | ini | castellan | default | a third-party source",
  }),
  detail: Type.String({ description: "Variable name, file path or secret ids; never a value" }),
});

export const OptionAnswer = Type.Object({
  value: Type.Unknown({ description: "Parsed with oslo.config's rules for `type`" }),
  type: Type.Enum([...OPTION_TYPES]),
  location: Location,
  version: Type.Integer({
    minimum: 0,
    description: "Highest version of the secrets the value uses; 0 if none",
  }),
});

export const ServiceOptionsAnswer = Type.Object({
  service: Type.String(),
  groups: Type.Record(
    Type.String(),
    Type.Record(Type.String(), OptionAnswer, { description: "option name → answer" }),
    { description: "group name → options" },
  ),
});

/** A response documented as text, sent raw (never JSON-serialized) with this exact type. */
export const TEXT_PLAIN = "text/plain; charset=utf-8";
export const textResponse = (description: string) => ({
  description,
  content: { "text/plain": { schema: Type.String() } },
});

export const SecretMetadataAnswer = Type.Object({
  name: Type.String(),
  type: Type.Enum(["passphrase", "opaque"]),
  version: Type.Integer({ minimum: 0 }),
  created: Type.Integer({ description: "Unix seconds" }),
  consumers: Type.Array(Type.String(), { description: "Services whose options use the secret" }),
});
export const SecretsListAnswer = Type.Object({ secrets: Type.Array(SecretMetadataAnswer) });

export const PutSecretBody = Type.Object(
  {
    value: Type.String({
      minLength: 1,
      maxLength: 65536,
      description: "The new value (never echoed or logged)",
    }),
  },
  { additionalProperties: false },
);
export const PutSecretAnswer = Type.Object({
  name: Type.String(),
  version: Type.Integer({ minimum: 1 }),
});

export const SeedBody = Type.Object(
  {
    text: Type.String({ maxLength: SEED_BODY_LIMIT, description: "The input document itself" }),
    file: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: "Name used in messages and format detection",
      }),
    ),
    format: Type.Optional(
      Type.Enum([...SEED_FORMATS], { description: "Detected from file and text when absent" }),
    ),
    generate: Type.Optional(
      Type.Boolean({ default: true, description: "Generate missing known parameters" }),
    ),
    dry_run: Type.Optional(
      Type.Boolean({ default: false, description: "Plan only; write nothing" }),
    ),
  },
  { additionalProperties: false },
);
export const SeedAnswer = Type.Object({
  dry_run: Type.Boolean(),
  written: Type.Integer({ minimum: 0 }),
  entries: Type.Array(
    Type.Object({
      name: Type.String(),
      action: Type.Enum(["keep", "import", "generate", "missing"]),
    }),
    { description: "One entry per secret: names and actions, never values" },
  ),
});

export const StatusAnswer = Type.Object({ status: Type.String() });

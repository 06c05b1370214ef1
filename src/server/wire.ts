/**
 * What crosses the wire between the broker and its clients: the request bodies and the answers
 * of the HTTP API, as TypeBox schemas. The routes validate and serialize with them (and the
 * OpenAPI document is made from them); the CLI types what it sends and reads as
 * `Static<typeof X>` of the same schemas, so the two cannot drift apart.
 *
 * Plain data: no fastify, nothing of the server (checked by .dependency-cruiser.cjs), so the CLI
 * can import it (`import type` for the shapes) without loading the HTTP stack.
 */
import Type from "typebox";
import { KIT_STATUSES } from "../broker/kit-status.js";
import { MAX_RECIPIENTS } from "../bundle/export-store.js";
import {
  DEPLOYMENT_NAME_PATTERN,
  OPTION_TYPES,
  SECRET_NAME_PATTERN,
} from "../config/manifest-schema.js";
import { ERRORS } from "../lib/errors.js";
import { ROTATION_STEPS } from "../rotation/rotation-record.js";
import { SEED_FORMATS } from "../seed/inputs.js";
import { PASSWORD_FILE_FORMATS } from "../seed/password-files.js";

/** The seed route's own body limit: a TripleO passwords file with keys and certificates is big. */
export const SEED_BODY_LIMIT = 8 * 1024 * 1024;

// --- errors ---------------------------------------------------------------------------------

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

// --- GET /healthz, /readyz ------------------------------------------------------------------

export const StatusAnswer = Type.Object({ status: Type.String() });

// --- GET /v1/config/... ---------------------------------------------------------------------

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

// --- /v1/secrets ----------------------------------------------------------------------------

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

// --- POST /v1/seed --------------------------------------------------------------------------

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
    strict: Type.Optional(
      Type.Boolean({
        default: false,
        description: "Refuse names the format does not know (kolla: not in kolla's template)",
      }),
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
      action: Type.Enum(["keep", "differs", "import", "generate", "missing"], {
        description: "`differs`: kept, though the input holds another value",
      }),
    }),
    { description: "One entry per secret: names and actions, never values" },
  ),
  rolled_back: Type.Optional(
    Type.Object(
      {
        file: Type.String(),
        started_at: Type.String(),
        secrets: Type.Integer({ minimum: 0 }),
        removed: Type.Integer({ minimum: 0 }),
        kept: Type.Array(Type.String(), { description: "Written by it and changed since" }),
      },
      { description: "A seed that did not finish (the broker was killed), undone first" },
    ),
  ),
});

// --- /v1/rotations --------------------------------------------------------------------------

const SecretNameItem = Type.String({ pattern: SECRET_NAME_PATTERN.source, maxLength: 100 });
const rotationId = (description?: string) =>
  Type.String({ pattern: "^[A-Za-z0-9_-]+$", maxLength: 128, ...(description && { description }) });
const RotationId = rotationId();

export const StartRotationBody = Type.Object(
  {
    secrets: Type.Optional(
      Type.Array(SecretNameItem, {
        minItems: 1,
        maxItems: 100,
        description: "Secrets to rotate, one rotation each, run one after the other",
      }),
    ),
    plan: Type.Optional(Type.Boolean({ description: "Only answer what would happen" })),
    force: Type.Optional(
      Type.Boolean({ description: "Rotate secrets on TripleO's do-not-rotate list anyway" }),
    ),
    resume: Type.Optional(
      Type.Union([RotationId, Type.Literal("all")], {
        description: "Resume this unfinished rotation (or every one) instead",
      }),
    ),
    abort: Type.Optional(
      rotationId("Roll back this unfinished rotation instead (only before it committed)"),
    ),
  },
  { additionalProperties: false },
);

const HistoryEntry = Type.Object({ step: Type.String(), at: Type.String() });

export const RotationViewSchema = Type.Object({
  id: Type.String(),
  secret: Type.String(),
  deployment: Type.String(),
  step: Type.Enum(ROTATION_STEPS),
  status: Type.Enum(["running", "interrupted", "failed", "done", "rolled-back"] as const, {
    description: "interrupted: running according to the store, but no broker works on it",
  }),
  trigger: Type.String(),
  forced: Type.Boolean(),
  fromVersion: Type.Integer(),
  toVersion: Type.Optional(Type.Integer()),
  consumers: Type.Array(Type.String()),
  restarted: Type.Array(Type.String(), {
    description: "Units restarted so far: a service, or service/instance",
  }),
  fetched: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description: "Per restarted unit: the fetch of its config that showed it took the new value",
    }),
  ),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  history: Type.Array(HistoryEntry),
  error: Type.Optional(Type.Object({ step: Type.String(), message: Type.String() })),
  rolledBack: Type.Optional(Type.String()),
  resume: Type.Optional(Type.String({ description: "What `rotate --resume` does from here" })),
});

const TargetDescriptionSchema = Type.Object({
  kind: Type.String(),
  accounts: Type.Array(Type.String()),
  overlap: Type.String(),
});

export const RotationPlanSchema = Type.Object({
  secret: Type.String(),
  currentVersion: Type.Integer(),
  generator: Type.String(),
  forced: Type.Boolean(),
  overridden: Type.Optional(Type.String()),
  targets: Type.Array(TargetDescriptionSchema),
  consumers: Type.Array(
    Type.Object({ service: Type.String(), restart: Type.String(), health: Type.String() }),
  ),
  restartOrder: Type.Array(Type.Array(Type.String())),
  window: Type.String(),
  maxRestartSeconds: Type.Number(),
});

/** 200 to `{secrets, plan: true}`: what would happen; nothing changed. */
export const RotationPlansAnswer = Type.Object({ plans: Type.Array(RotationPlanSchema) });

/** 202 to `{secrets}` and `{resume}`: the rotations started (or resumed) in the background. */
export const RotationsStartedAnswer = Type.Object({ rotations: Type.Array(RotationViewSchema) });

export const ScheduleSchema = Type.Object({
  secret: Type.String(),
  schedule: Type.String(),
  next: Type.Union([Type.String(), Type.Null()]),
  missed: Type.Optional(Type.String()),
  /** True when this broker runs no schedule (`up --no-schedules`, or an imported state dir). */
  paused: Type.Optional(Type.Boolean()),
});

export const RotationListAnswer = Type.Object({
  rotations: Type.Array(RotationViewSchema),
  schedules: Type.Array(ScheduleSchema),
});

// --- POST /v1/export ------------------------------------------------------------------------

/** The trailer carrying the JSON summary; its absence means the bundle is incomplete. */
export const EXPORT_SUMMARY_TRAILER = "x-strongroom-export-summary";
export const BUNDLE_CONTENT_TYPE = "application/octet-stream";

export const ExportBody = Type.Object(
  {
    recipients: Type.Array(
      Type.String({ minLength: 1, maxLength: 4096, description: "A recipient's `.pub` file" }),
      { minItems: 1, maxItems: MAX_RECIPIENTS, description: "Who may open the bundle" },
    ),
    deployment: Type.Optional(
      Type.String({
        pattern: DEPLOYMENT_NAME_PATTERN.source,
        maxLength: 100,
        description: "Default: the broker's own deployment",
      }),
    ),
  },
  { additionalProperties: false },
);

/** The JSON of the EXPORT_SUMMARY_TRAILER trailer, sent once the whole bundle was written. */
export const ExportSummaryAnswer = Type.Object({
  deployment: Type.String(),
  createdAt: Type.String(),
  sequence: Type.Integer({
    minimum: 1,
    description: "The header's sequence number: importers refuse one not above the last",
  }),
  counts: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  records: Type.Integer({ minimum: 0 }),
  bytes: Type.Integer({ minimum: 0 }),
  recipients: Type.Array(Type.String(), { description: "Fingerprints of the recipients" }),
  signer: Type.String({ description: "Fingerprint of the broker's signing key" }),
  headerHash: Type.String(),
});

export const ServiceFilesAnswer = Type.Object(
  {
    service: Type.String(),
    files: Type.Array(
      Type.Object({
        path: Type.String({ description: "Relative to the service's files directory" }),
        content: Type.String({ description: "UTF-8 text; written 0600 in 0700 directories" }),
        secret: Type.String(),
        version: Type.Integer(),
      }),
    ),
  },
  { description: "The files holding secrets the service needs (its manifest `files`)" },
);

// --- POST /v1/kits/{service} ----------------------------------------------------------------

const KitSerial = Type.String({
  pattern: "^[0-9A-Fa-f:]{1,96}$",
  description: "The kit's client certificate serial number (hex)",
});
const SecretIdAccessor = Type.String({
  pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$",
  maxLength: 256,
  description: "The accessor of the kit's AppRole secret-id (never the secret-id)",
});

export const KitIssuedBody = Type.Object(
  {
    secret_id_accessor: Type.Optional(SecretIdAccessor),
    serial: Type.Optional(KitSerial),
    fingerprint: Type.Optional(
      Type.String({
        pattern: "^[0-9a-f]{64}$",
        description: "SHA-256 of the kit's client certificate (DER), lower-case hex",
      }),
    ),
    not_after: Type.Optional(
      Type.String({ format: "date-time", description: "The client certificate's expiry" }),
    ),
    secret_id_expires: Type.Optional(
      Type.String({ format: "date-time", description: "The secret-id's expiry (none: never)" }),
    ),
  },
  { additionalProperties: false },
);

export const KitIssuedAnswer = Type.Object({
  service: Type.String(),
  recorded: Type.Boolean(),
});

// --- GET /v1/kits, POST /v1/kits/{service}/revoke ------------------------------------------

export const KitViewSchema = Type.Object({
  service: Type.String(),
  serial: Type.Optional(Type.String()),
  fingerprint: Type.Optional(Type.String()),
  notAfter: Type.Optional(Type.String()),
  secretIdAccessor: Type.Optional(Type.String()),
  secretIdExpires: Type.Optional(Type.String()),
  issuedAt: Type.Optional(Type.String()),
  issuedBy: Type.Optional(Type.String()),
  revokedAt: Type.Optional(Type.String()),
  secretIdLive: Type.Boolean({ description: "Whether Vault still holds the kit's secret-id" }),
  status: Type.Enum(KIT_STATUSES, {
    description:
      "untracked: a secret-id of the service's AppRole that no kit record names (an older kit)",
  }),
});

export const KitsAnswer = Type.Object({ kits: Type.Array(KitViewSchema) });

export const KitRevokeBody = Type.Object(
  {
    all: Type.Optional(Type.Literal(true, { description: "Every kit of the service" })),
    serial: Type.Optional(KitSerial),
    secret_id_accessor: Type.Optional(SecretIdAccessor),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    description: "Exactly one of all, serial, secret_id_accessor",
  },
);

export const KitRevokeAnswer = Type.Object({
  service: Type.String(),
  revoked: Type.Array(
    Type.Object({
      serial: Type.Optional(Type.String()),
      secretIdAccessor: Type.Optional(Type.String()),
      secretId: Type.Union([Type.Literal("destroyed"), Type.Literal("gone"), Type.Literal("none")]),
    }),
  ),
});

// --- passwords files ------------------------------------------------------------------------

const PasswordsDeployment = Type.Optional(
  Type.String({
    pattern: DEPLOYMENT_NAME_PATTERN.source,
    maxLength: 100,
    description: "Default: the broker's own deployment",
  }),
);
/** An existing passwords file sent for a merge or a diff: a kolla passwords.yml is ~40 KiB. */
const ExistingFile = {
  text: Type.String({ maxLength: 1024 * 1024, description: "The existing file itself" }),
  file: Type.Optional(
    Type.String({ minLength: 1, maxLength: 4096, description: "Its name, used in messages" }),
  ),
  deployment: PasswordsDeployment,
};

export const PasswordsQuery = Type.Object(
  {
    format: Type.Enum([...PASSWORD_FILE_FORMATS], {
      description: "kolla (passwords.yml), tripleo (overcloud-passwords.yaml), osp-secret (RHOSO)",
    }),
    deployment: PasswordsDeployment,
  },
  { additionalProperties: false },
);

export const PasswordsAnswer = Type.Object({
  deployment: Type.String(),
  format: Type.Enum([...PASSWORD_FILE_FORMATS]),
  text: Type.String({ description: "The file: it holds every value, write it 0600" }),
  written: Type.Integer({ description: "Keys written with a value" }),
  missing: Type.Array(Type.String(), {
    description: "The format's keys the store has no value for (names only)",
  }),
});

export const PasswordsMergeBody = Type.Object(ExistingFile, { additionalProperties: false });

export const PasswordsDiffBody = Type.Object(ExistingFile, { additionalProperties: false });

export const PasswordsDiffAnswer = Type.Object({
  deployment: Type.String(),
  differs: Type.Array(Type.String(), { description: "Keys in both, with different values" }),
  missing: Type.Array(Type.String(), {
    description: "Keys strongroom writes that the existing Secret lacks",
  }),
  extra: Type.Array(Type.String(), {
    description: "Keys of the existing Secret strongroom has no value for",
  }),
  same: Type.Integer(),
});

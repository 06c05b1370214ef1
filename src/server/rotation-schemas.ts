import Type from "typebox";
import { SECRET_NAME_PATTERN } from "../config/manifest-schema.js";
import { ROTATION_STEPS } from "../rotation/rotation-record.js";

const SecretNameItem = Type.String({ pattern: SECRET_NAME_PATTERN.source, maxLength: 100 });
const RotationId = Type.String({ pattern: "^[A-Za-z0-9_-]+$", maxLength: 128 });

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

export const StartRotationAnswer = Type.Object({
  plans: Type.Optional(Type.Array(RotationPlanSchema)),
  rotations: Type.Optional(Type.Array(RotationViewSchema)),
});

export const ScheduleSchema = Type.Object({
  secret: Type.String(),
  schedule: Type.String(),
  next: Type.Union([Type.String(), Type.Null()]),
  missed: Type.Optional(Type.String()),
});

export const RotationListAnswer = Type.Object({
  rotations: Type.Array(RotationViewSchema),
  schedules: Type.Array(ScheduleSchema),
});

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { usageError } from "../../lib/errors.js";
import type { ScheduleView } from "../../rotation/rotation-schedule.js";
import type { RotationService } from "../../rotation/rotation-service.js";
import { type AuditRecorder, requester } from "../audit-trail.js";
import { OPERATOR_SECURITY } from "../openapi.js";
import { ERROR_RESPONSES, RotationParams } from "../schemas.js";
import {
  RotationListAnswer,
  RotationPlansAnswer,
  RotationsStartedAnswer,
  RotationViewSchema,
  StartRotationBody,
} from "../wire.js";

export interface RotationsDeps {
  rotations: RotationService;
  schedules?: () => ScheduleView[];
}

export const rotationRoutes: FastifyPluginAsyncTypebox<
  RotationsDeps & { audit: AuditRecorder }
> = async (app, { rotations, schedules, audit }) => {
  const config = { access: "operator" } as const;

  app.post(
    "/rotations",
    {
      config,
      schema: {
        operationId: "startRotation",
        tags: ["rotations"],
        summary: "Plan, start or resume rotations (operator only)",
        description:
          "`{secrets, plan: true}` answers 200 with what would happen, changing nothing. " +
          "`{secrets}` starts one rotation per secret and answers 202 at once; poll " +
          'GET /v1/rotations/{id}. `{resume: id | "all"}` resumes unfinished rotations. ' +
          "`{abort: id}` rolls back an unfinished rotation that has not committed and answers " +
          "200 once it is rolled back. " +
          "Secrets on TripleO's do-not-rotate list answer 409 unless `force`.",
        security: OPERATOR_SECURITY,
        body: StartRotationBody,
        response: {
          200: Type.Union([RotationPlansAnswer, RotationsStartedAnswer]),
          202: RotationsStartedAnswer,
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request, reply) => {
      const { secrets, plan, force, resume, abort } = request.body;
      if ([secrets, resume, abort].filter((x) => x !== undefined).length !== 1) {
        throw usageError("give one of `secrets`, `resume` or `abort`");
      }
      if (abort !== undefined) {
        const aborted = await rotations.abort(abort);
        request.log.info({ rotation: aborted.id }, "rotation aborted");
        audit({ event: "rotation-abort", ...requester(request), rotation: aborted.id });
        return { rotations: [aborted] };
      }
      if (resume !== undefined) {
        const resumed = await rotations.resume(resume === "all" ? undefined : resume);
        request.log.info({ rotations: resumed.map((r) => r.id) }, "rotations resumed");
        audit({
          event: "rotation-resume",
          ...requester(request),
          rotations: resumed.map((r) => r.id),
        });
        return reply.code(202).send({ rotations: resumed });
      }
      if (plan) {
        const plans = await rotations.plan(secrets!, { force: force === true });
        audit({ event: "rotation-plan", ...requester(request), secrets: secrets! });
        return { plans };
      }
      const started = await rotations.start(secrets!, { force: force === true });
      request.log.info({ rotations: started.map((r) => r.id) }, "rotations started");
      audit({
        event: "rotation-start",
        ...requester(request),
        rotations: started.map((r) => ({ id: r.id, secret: r.secret })),
        force: force === true,
      });
      return reply.code(202).send({ rotations: started });
    },
  );

  app.get(
    "/rotations",
    {
      config,
      schema: {
        operationId: "listRotations",
        tags: ["rotations"],
        summary: "Every rotation and every schedule (operator only)",
        description:
          "Every rotation record of the deployment, newest first, with its step, status and what " +
          "`strongroom rotate --resume` would do; and every `rotate.schedule` with its next and " +
          "missed runs.",
        security: OPERATOR_SECURITY,
        response: { 200: RotationListAnswer, ...ERROR_RESPONSES },
      },
    },
    async () => ({ rotations: await rotations.list(), schedules: schedules?.() ?? [] }),
  );

  app.get(
    "/rotations/:id",
    {
      config,
      schema: {
        operationId: "getRotation",
        tags: ["rotations"],
        summary: "One rotation: its step, status, restarted consumers and what --resume does",
        description:
          "One rotation record: the step it reached, its status, the consumers restarted (and " +
          "the one that failed, with why), and what `strongroom rotate --resume` would do.",
        security: OPERATOR_SECURITY,
        params: RotationParams,
        response: { 200: RotationViewSchema, ...ERROR_RESPONSES },
      },
    },
    async (request) => rotations.get(request.params.id),
  );
};

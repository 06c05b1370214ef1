/**
 * The `rabbitmq` rotation target: one user (`single`) or two alternating users, changed with
 * rabbitmqctl. See rabbitmq-target.ts for the modes and their overlap.
 */
import type { RotationTargetDriver } from "../../types.js";
import { targetError } from "../target-error.js";
import { AlternatingUsersTarget, SingleUserTarget } from "./rabbitmq-target.js";

export { alternatingUser } from "./alternating.js";
export { AlternatingUsersTarget, SingleUserTarget };

export const driver: RotationTargetDriver = {
  kind: "rotation-target",
  name: "rabbitmq",
  async create(spec, context) {
    if (spec.kind !== "rabbitmq")
      throw targetError(`the rabbitmq driver got a ${spec.kind} target`);
    if (context.server !== undefined && context.server.kind !== "rabbitmq") {
      throw targetError(
        `rabbitmq target "${spec.server}" points at a ${context.server.kind} server`,
      );
    }
    return spec.mode === "alternating"
      ? new AlternatingUsersTarget(spec.users, spec, context)
      : new SingleUserTarget(spec.user, spec, context);
  },
};

/**
 * The `mariadb` rotation target: every `user@host` variant of the listed accounts, changed
 * through the target server's admin account (mysql2 over TCP). See mariadb-target.ts.
 */
import type { RotationTargetDriver } from "../../types.js";
import { targetError } from "../target-error.js";
import { MariaDbTarget } from "./mariadb-target.js";

export { MariaDbTarget };

export const driver: RotationTargetDriver = {
  kind: "rotation-target",
  name: "mariadb",
  async create(spec, context) {
    if (spec.kind !== "mariadb") throw targetError(`the mariadb driver got a ${spec.kind} target`);
    if (context.server?.kind !== "mariadb") {
      throw targetError(`mariadb target "${spec.server}" has no mariadb server connection data`);
    }
    return new MariaDbTarget(spec, context.server, context);
  },
};

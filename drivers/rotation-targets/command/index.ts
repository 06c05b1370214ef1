/**
 * The `command` rotation target: operator hooks that set and verify a credential, the value on
 * stdin. See command-target.ts.
 */
import type { RotationTargetDriver } from "../../types.js";
import { targetError } from "../target-error.js";
import { CommandTarget } from "./command-target.js";

export { CommandTarget, DEFAULT_HOOK_TIMEOUT_SECONDS } from "./command-target.js";

export const driver: RotationTargetDriver = {
  kind: "rotation-target",
  name: "command",
  async create(spec) {
    if (spec.kind !== "command") throw targetError(`the command driver got a ${spec.kind} target`);
    return new CommandTarget(spec);
  },
};

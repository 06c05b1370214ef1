/** The "kv" secrets engine: version 2 when the mount's options say version "2", else version 1. */
import type { LogicalBackend, LogicalRequest, MountEntry } from "../types.js";
import { createKvV1Backend } from "./kv-v1.js";
import { createKvV2Backend } from "./kv-v2.js";

export const isKvV2Mount = (mount: MountEntry): boolean => mount.options?.version === "2";

export function createKvBackend(): LogicalBackend {
  const v1 = createKvV1Backend();
  const v2 = createKvV2Backend();
  // The mount arrives with every request, so one instance serves either version.
  const pick = (req: LogicalRequest) => (isKvV2Mount(req.mount) ? v2 : v1);
  return {
    type: "kv",
    exists: (req) => pick(req).exists?.(req) ?? false,
    handle: (req) => pick(req).handle(req),
  };
}

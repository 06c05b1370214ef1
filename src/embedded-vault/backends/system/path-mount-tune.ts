import { badRequest } from "../../errors.js";
import { normalizeMountPath, normalizeSecretsEngine, writeMounts } from "../../mount-table.js";
import { upgradeKvV1ToV2 } from "../kv.js";
import { findMount } from "./mount-admin.js";
import { type Handler, isRecord, type Route } from "./route.js";

/** mounts/<path>/tune and auth/<path>/tune, for the mount table at `tableKey`. */
export function tuneOps(tableKey: string, prefix: string): Route["operations"] {
  const read: Handler = (req, raw) => {
    const path = prefix + normalizeMountPath(raw);
    const { mounts, index } = findMount(req.tx, tableKey, path);
    if (index === -1) throw badRequest(`cannot fetch sysview for path "${path}"`);
    const mount = mounts[index]!;
    return {
      data: {
        default_lease_ttl: Number(mount.config.default_lease_ttl ?? 0) || 2764800,
        max_lease_ttl: Number(mount.config.max_lease_ttl ?? 0) || 2764800,
        force_no_cache: mount.config.force_no_cache === true,
        description: mount.description,
        options: mount.options,
      },
    };
  };
  const write: Handler = (req, raw) => {
    const path = prefix + normalizeMountPath(raw);
    const { mounts, index } = findMount(req.tx, tableKey, path);
    if (index === -1) throw badRequest(`cannot tune "${path}": no mount`);
    const mount = mounts[index]!;
    if (typeof req.data.description === "string") mount.description = req.data.description;
    for (const key of ["default_lease_ttl", "max_lease_ttl"] as const) {
      if (req.data[key] !== undefined) mount.config[key] = req.data[key];
    }
    const warnings: string[] = [];
    if (isRecord(req.data.options) && mount.type === "kv") {
      const before = mount.options?.version ?? "1";
      const { options } = normalizeSecretsEngine("kv", { ...mount.options, ...req.data.options });
      const after = options?.version ?? "1";
      // As Vault: versioning cannot be turned off, and turning it on upgrades the stored data.
      if (Number(after) < Number(before)) {
        throw badRequest(`cannot downgrade mount from version ${before}`);
      }
      if (Number(after) > Number(before)) {
        upgradeKvV1ToV2(req.tx.sub(mount.storagePrefix), req.now);
        warnings.push(
          `Upgrading mount from version ${before} to version ${after}. This mount will be ` +
            "unavailable for a brief period and will resume service shortly.",
        );
      }
      mount.options = options;
    }
    writeMounts(req.tx, tableKey, mounts);
    return warnings.length > 0 ? { warnings } : {};
  };
  return { read, create: write, update: write };
}

/**
 * The rotation targets of one secret, created from the manifest through the driver registry.
 * The admin credential of a target server is itself a secret in the store: its candidates are
 * read fresh on every login (current, then previous, then the staged value when the admin secret
 * is the one being rotated), so rotating MysqlRootPassword never locks strongroom out.
 */
import type { DriverRegistry } from "../../drivers/registry.js";
import type { KeyManager, RotationTarget, SecretValue } from "../../drivers/types.js";
import type { Manifest, SecretTarget } from "../config/manifest.js";
import { configError } from "../lib/errors.js";

export interface TargetDeps {
  manifest: Manifest;
  keyManager: KeyManager;
  registry: DriverRegistry;
  log(event: string, fields?: Record<string, unknown>): void;
}

const asPassword = (value: SecretValue | undefined): string | undefined =>
  typeof value === "string" ? value : undefined;

export async function adminPasswordCandidates(
  keyManager: KeyManager,
  adminSecret: string,
  staged?: { secret: string; value: SecretValue | undefined },
): Promise<string[]> {
  const latest = await keyManager.get(adminSecret);
  const previous =
    latest && latest.version > 1
      ? await keyManager.get(adminSecret, latest.version - 1)
      : undefined;
  const candidates = [asPassword(latest?.value), asPassword(previous?.value)];
  if (staged?.secret === adminSecret) candidates.push(asPassword(staged.value));
  return [...new Set(candidates.filter((c): c is string => c !== undefined))];
}

export function serverOf(manifest: Manifest, target: SecretTarget) {
  if (target.kind === "command") return undefined;
  const server = manifest.targets.get(target.server);
  if (!server) throw configError(`no target server "${target.server}" in the manifest`);
  return server;
}

export async function createSecretTargets(
  deps: TargetDeps,
  secret: string,
  staged: () => SecretValue | undefined,
): Promise<RotationTarget[]> {
  const spec = deps.manifest.secrets.get(secret);
  if (!spec) return [];
  const targets: RotationTarget[] = [];
  for (const target of spec.targets) {
    const server = serverOf(deps.manifest, target);
    const driver = deps.registry.rotationTarget(target.kind);
    targets.push(
      await driver.create(target, {
        ...(server && { server }),
        adminPasswords: () =>
          server
            ? adminPasswordCandidates(deps.keyManager, server.adminSecret, {
                secret,
                value: staged(),
              })
            : Promise.resolve([]),
        log: (event, fields) => deps.log(event, { secret, target: target.kind, ...fields }),
      }),
    );
  }
  return targets;
}

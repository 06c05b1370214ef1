/**
 * The account a secret currently belongs to, for `{{ user.Name }}` in templates. With
 * alternating RabbitMQ users the two users take turns: version 1 (and every odd version) is
 * `users[0]`, even versions `users[1]`. A rotation commits exactly one new version, so the
 * account always changes together with the password a consumer reads.
 */
import type { Manifest, SecretTarget } from "./manifest-types.js";

export const alternatingIndex = (version: number): 0 | 1 =>
  ((Math.max(1, version) - 1) % 2) as 0 | 1;

export function accountOf(manifest: Manifest, secret: string, version: number): string {
  const targets = manifest.secrets.get(secret)?.targets ?? [];
  for (const target of targets) {
    const user = userOfTarget(target, version);
    if (user !== undefined) return user;
  }
  return "";
}

function userOfTarget(target: SecretTarget, version: number): string | undefined {
  if (target.kind === "rabbitmq") {
    const t = target as SecretTarget & { mode?: string; users?: readonly string[]; user?: string };
    if (t.mode === "alternating" && t.users?.length === 2)
      return t.users[alternatingIndex(version)];
    return t.user;
  }
  if (target.kind === "mariadb") return target.accounts[0]?.user;
  return undefined;
}

/** Whether `{{ user.Name }}` means something for this secret. */
export const hasAccount = (manifest: Manifest, secret: string): boolean =>
  (manifest.secrets.get(secret)?.targets ?? []).some(
    (t) => t.kind === "rabbitmq" || t.kind === "mariadb",
  );

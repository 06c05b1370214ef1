/**
 * The account a secret currently belongs to, for `{{ user.Name }}` in templates. With
 * alternating users (RabbitMQ, Keystone) the two users take turns: version 1 (the seeded value,
 * and every odd version) is `users[0]`, even versions `users[1]`. A rotation commits exactly one
 * new version, so the account always changes together with the password a consumer reads. A
 * secret with an alternating target takes its user from it (its database accounts, say, keep
 * their one user); otherwise from its first target with a user.
 */
import type { Manifest, SecretTarget } from "./manifest-types.js";

export function alternatingUser(users: readonly [string, string], version: number): string {
  if (!Number.isInteger(version) || version < 1) {
    throw new RangeError(`a secret version is an integer from 1 (got ${version})`);
  }
  return users[(version - 1) % 2]!;
}

export function accountOf(manifest: Manifest, secret: string, version: number): string {
  const targets = manifest.secrets.get(secret)?.targets ?? [];
  const alternating = targets.find(
    (t) => (t.kind === "rabbitmq" || t.kind === "keystone") && t.mode === "alternating",
  );
  for (const target of alternating ? [alternating] : targets) {
    const user = userOfTarget(target, version);
    if (user !== undefined) return user;
  }
  return "";
}

function userOfTarget(target: SecretTarget, version: number): string | undefined {
  switch (target.kind) {
    case "rabbitmq":
    case "keystone":
      return target.mode === "alternating" ? alternatingUser(target.users, version) : target.user;
    case "mariadb":
      return target.accounts[0]?.user;
    default:
      return undefined;
  }
}

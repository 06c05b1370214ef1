/**
 * The account a secret currently belongs to, for `{{ user.Name }}` in templates. With
 * alternating RabbitMQ users the two users take turns: version 1 (the seeded value, and every
 * odd version) is `users[0]`, even versions `users[1]`. A rotation commits exactly one new
 * version, so the account always changes together with the password a consumer reads.
 */
import type { Manifest, SecretTarget } from "./manifest-types.js";

export function alternatingUser(users: readonly [string, string], version: number): string {
  if (!Number.isInteger(version) || version < 1) {
    throw new RangeError(`a secret version is an integer from 1 (got ${version})`);
  }
  return users[(version - 1) % 2]!;
}

export function accountOf(manifest: Manifest, secret: string, version: number): string {
  for (const target of manifest.secrets.get(secret)?.targets ?? []) {
    const user = userOfTarget(target, version);
    if (user !== undefined) return user;
  }
  return "";
}

function userOfTarget(target: SecretTarget, version: number): string | undefined {
  switch (target.kind) {
    case "rabbitmq":
      return target.mode === "alternating" ? alternatingUser(target.users, version) : target.user;
    case "mariadb":
      return target.accounts[0]?.user;
    default:
      return undefined;
  }
}

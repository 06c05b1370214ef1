/**
 * Which of an alternating target's two users a secret version belongs to: version 1 (the
 * seeded value) is users[0], version 2 users[1], version 3 users[0] again, and so on. The
 * rotation engine and the templates use it to pair a password with its user name.
 */
export function alternatingUser(users: readonly [string, string], version: number): string {
  if (!Number.isInteger(version) || version < 1) {
    throw new RangeError(`a secret version is an integer from 1 (got ${version})`);
  }
  return users[(version - 1) % 2]!;
}

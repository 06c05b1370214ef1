/**
 * What `kits list` says of a kit: `untracked` is a secret-id of the service's AppRole that no kit
 * record names (a kit of an older version, or one minted outside strongroom).
 */
export const KIT_STATUSES = [
  "active",
  "revoked",
  "expired",
  "secret-id-gone",
  "untracked",
] as const;
export type KitStatus = (typeof KIT_STATUSES)[number];

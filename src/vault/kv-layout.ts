/**
 * Where strongroom keeps things in Vault, identical on the embedded server and a real Vault
 * (README "Configuration"). The one place that spells it: every KV path and every policy or
 * AppRole name strongroom uses comes from here.
 *
 *   <mount>/data/strongroom/<deployment>/secrets/<Name>                  Castellan records
 *   <mount>/data/strongroom/<deployment>/rendered/<service>/<group>/<option>
 *   <mount>/data/strongroom/<deployment>/rotations/<id>, locks/<Secret>
 *   <mount>/data/strongroom/<deployment>/seed/journal, seed/names/<n>     a seed in progress
 *   <mount>/data/strongroom/<deployment>/manifest
 *   <mount>/data/strongroom/<deployment>/kits/<service>/<serial>, kit-revocations   service kits
 *   <mount>/data/strongroom/<deployment>/bundle-sequence                 serve's export counter
 */
import { DEPLOYMENT_NAME_PATTERN, SECRET_NAME_PATTERN } from "../config/manifest-schema.js";
import { usageError } from "../lib/errors.js";

export const DEFAULT_KV_MOUNT = "secret";
/** The folder under the KV mount that holds every deployment. */
export const KV_ROOT = "strongroom";

/** `strongroom/<deployment>`: the deployment's folder, relative to the KV mount. */
export function deploymentPrefix(deployment: string): string {
  if (!DEPLOYMENT_NAME_PATTERN.test(deployment)) {
    throw usageError(`invalid deployment name "${deployment.slice(0, 100)}"`);
  }
  return `${KV_ROOT}/${deployment}`;
}

/** Keys relative to the deployment's folder (what a RecordStore takes). */
export const DEPLOYMENT_KEYS = {
  secretsFolder: "secrets",
  renderedFolder: "rendered",
  rotationsFolder: "rotations",
  manifest: "manifest",
  secret(name: string): string {
    if (!SECRET_NAME_PATTERN.test(name)) throw usageError(`invalid secret name "${name}"`);
    return `secrets/${name}`;
  },
  rendered: (service: string, group: string, option: string) =>
    `rendered/${service}/${group}/${option}`,
  renderedFolderOf: (service: string) => `rendered/${service}`,
  rotation: (id: string) => `rotations/${id}`,
  seedJournal: "seed/journal",
  seedJournalNames: (part: number) => `seed/names/${part}`,
  lock: (secret: string) => `locks/${secret}`,
  /** The change feed serve replicas poll: the secrets the last write changed. */
  changes: "changes",
  /** The fetches rotations on serve replicas wait for (service, secret, version, since). */
  fetchWaits: "fetch-waits",
  /** Fetches one serve replica saw that a listed wait is for. */
  fetchesFolderOf: (service: string) => `fetches/${service}`,
  fetches: (service: string, replica: string) => `fetches/${service}/${replica}`,
  /** The kits `service-kit` issued (certificate serial, secret-id accessor; no secret). */
  kitsFolderOf: (service: string) => `kits/${service}`,
  kit: (service: string, serial: string) => `kits/${service}/${serial}`,
  /** The serials of revoked kits' certificates, which every broker refuses. */
  kitRevocations: "kit-revocations",
  /** The last bundle sequence number serve replicas signed with (check-and-set on each draw). */
  bundleSequence: "bundle-sequence",
} as const;

/** A deployment key as a path relative to the KV mount: `strongroom/<deployment>/<key>`. */
export const deploymentPath = (deployment: string, key: string): string =>
  `${deploymentPrefix(deployment)}/${key}`;

export const secretPath = (deployment: string, name: string): string =>
  deploymentPath(deployment, DEPLOYMENT_KEYS.secret(name));

/** The castellan secret id of an option's rendered record (what secrets_mapping.conf names). */
export const renderedPath = (
  deployment: string,
  service: string,
  group: string,
  option: string,
): string => deploymentPath(deployment, DEPLOYMENT_KEYS.rendered(service, group, option));

/** The API path of a KV v2 route (`data`, `metadata`, `delete`, `destroy`, ...). */
export const kvApiPath = (mount: string, route: string, path: string): string =>
  `${mount}/${route}/${path}`;

/**
 * Joins a deployment and a service (or strongroom and a deployment) in Vault's role and policy
 * names. Deployment and service names cannot contain it (manifest-schema), so no two pairs spell
 * the same name; Vault accepts it inside AppRole role names (`\w([\w-.]*\w)?`) and ACL policy
 * names.
 */
export const NAME_SEPARATOR = ".";

/** Every service policy of a deployment starts with this: `strongroom-<deployment>.`. */
export const servicePolicyPrefix = (deployment: string): string =>
  `strongroom-${deployment}${NAME_SEPARATOR}`;
/** `strongroom-<deployment>.<service>`: read on the service's secrets. */
export const servicePolicyName = (deployment: string, service: string): string =>
  `${servicePolicyPrefix(deployment)}${service}`;
/** Every AppRole role of a deployment starts with this: `<deployment>.`. */
export const serviceRolePrefix = (deployment: string): string => `${deployment}${NAME_SEPARATOR}`;
/** `<deployment>.<service>`: the service's AppRole. */
export const serviceRoleName = (deployment: string, service: string): string =>
  `${serviceRolePrefix(deployment)}${service}`;
/** Every operator policy starts with this, the one that older versions shared included. */
export const OPERATOR_POLICY_STEM = "strongroom-operator";
/**
 * `strongroom-operator-<deployment>`: the operator token's policy, one per deployment (a shared
 * Vault holds several). No separator in it, so it never falls under a service-policy prefix.
 */
export const operatorPolicyName = (deployment: string): string =>
  `${OPERATOR_POLICY_STEM}-${deployment}`;

/** The deployment a strongroom service-policy or role name belongs to, if it is one. */
export function deploymentOfServiceName(name: string): string | undefined {
  const bare = name.startsWith("strongroom-") ? name.slice("strongroom-".length) : name;
  const at = bare.indexOf(NAME_SEPARATOR);
  return at > 0 ? bare.slice(0, at) : undefined;
}

/**
 * The names strongroom used before NAME_SEPARATOR: ambiguous (`site` + `edge-nova` and
 * `site-edge` + `nova` meet), recognised only to read what older versions wrote.
 */
export const LEGACY_OPERATOR_POLICY = OPERATOR_POLICY_STEM;
/** The policies the legacy operator policy could write (its own among them). */
export const LEGACY_OPERATOR_WRITABLE = "strongroom-*";
export const legacyServicePolicyName = (deployment: string, service: string): string =>
  `strongroom-${deployment}-${service}`;
export const legacyServiceRoleName = (deployment: string, service: string): string =>
  `${deployment}-${service}`;

export const policyApiPath = (name: string): string => `sys/policies/acl/${name}`;
export const roleApiPath = (role: string): string => `auth/approle/role/${role}`;

/**
 * kolla's own Vault layout, as `kolla-writepwd` writes it and `kolla-readpwd` reads it (both
 * default to mount `kv`, path `kolla_passwords`): `<mount>/data/<path>/<key>`, a string as
 * `{password: value}`, a map as it is. A second copy of the deployment's values, for kolla.
 */
export const KOLLA_VAULT_DEFAULTS = { mount: "kv", path: "kolla_passwords" } as const;
/** The field a string value is kept under, which kolla-readpwd reads. */
export const KOLLA_PASSWORD_FIELD = "password";
/** The "service" part of the kolla reader's policy and AppRole names (no service may be called so). */
export const KOLLA_READER = "kolla-readpwd";

export interface KollaVaultLayout {
  readonly mount: string;
  readonly path: string;
}

/** The manifest's `deployment.kolla_vault` with kolla's defaults filled in. */
export const kollaVaultLayout = (settings: {
  mount?: string;
  path?: string;
}): KollaVaultLayout => ({
  mount: settings.mount ?? KOLLA_VAULT_DEFAULTS.mount,
  path: settings.path ?? KOLLA_VAULT_DEFAULTS.path,
});

/** `<path>/<key>`, relative to the kolla mount (what hvac's `path=` names). */
export const kollaPasswordPath = (layout: KollaVaultLayout, key: string): string => {
  if (!SECRET_NAME_PATTERN.test(key)) throw usageError(`invalid secret name "${key}"`);
  return `${layout.path}/${key}`;
};

/** `strongroom-<deployment>.kolla-readpwd`: read and list on the kolla path only. */
export const kollaReaderPolicyName = (deployment: string): string =>
  servicePolicyName(deployment, KOLLA_READER);
/** `<deployment>.kolla-readpwd`: the AppRole handed to kolla-readpwd. */
export const kollaReaderRoleName = (deployment: string): string =>
  serviceRoleName(deployment, KOLLA_READER);

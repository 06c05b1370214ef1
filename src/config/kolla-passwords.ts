/**
 * kolla-ansible's passwords, as data. Sources: kolla-ansible's `etc/kolla/passwords.yml` (the
 * template, 106 keys) and `kolla_ansible/cmd/genpwd.py` (kolla-genpwd's generation rules).
 */
import type { GeneratorSpec } from "./manifest-schema.js";

/** The keys of kolla-ansible's passwords.yml template, in template order. */
export const KOLLA_PASSWORD_KEYS = [
  "rbd_secret_uuid",
  "cinder_rbd_secret_uuid",
  "database_password",
  "mariadb_backup_database_password",
  "mariadb_monitor_password",
  "docker_registry_password",
  "hnas_nfs_password",
  "infoblox_admin_password",
  "aodh_database_password",
  "aodh_keystone_password",
  "barbican_database_password",
  "barbican_keystone_password",
  "barbican_p11_password",
  "barbican_crypto_key",
  "blazar_database_password",
  "blazar_keystone_password",
  "keystone_admin_password",
  "keystone_database_password",
  "grafana_database_password",
  "grafana_admin_password",
  "glance_database_password",
  "glance_keystone_password",
  "gnocchi_database_password",
  "gnocchi_keystone_password",
  "nova_database_password",
  "nova_api_database_password",
  "nova_keystone_password",
  "placement_keystone_password",
  "placement_database_password",
  "neutron_database_password",
  "neutron_keystone_password",
  "metadata_secret",
  "cinder_database_password",
  "cinder_keystone_password",
  "cloudkitty_database_password",
  "cloudkitty_keystone_password",
  "cyborg_database_password",
  "cyborg_keystone_password",
  "designate_database_password",
  "designate_keystone_password",
  "designate_pool_id",
  "designate_rndc_key",
  "heat_database_password",
  "heat_keystone_password",
  "heat_domain_admin_password",
  "ironic_database_password",
  "ironic_keystone_password",
  "magnum_database_password",
  "magnum_keystone_password",
  "mistral_database_password",
  "mistral_keystone_password",
  "trove_database_password",
  "trove_keystone_password",
  "ceilometer_database_password",
  "ceilometer_keystone_password",
  "watcher_database_password",
  "watcher_keystone_password",
  "horizon_secret_key",
  "horizon_database_password",
  "telemetry_secret_key",
  "manila_database_password",
  "manila_keystone_password",
  "octavia_database_password",
  "octavia_persistence_database_password",
  "octavia_keystone_password",
  "octavia_ca_password",
  "octavia_client_ca_password",
  "tacker_database_password",
  "tacker_keystone_password",
  "masakari_database_password",
  "masakari_keystone_password",
  "memcache_secret_key",
  "skyline_secret_key",
  "skyline_database_password",
  "skyline_keystone_password",
  "osprofiler_secret",
  "nova_ssh_key",
  "kolla_ssh_key",
  "keystone_ssh_key",
  "bifrost_ssh_key",
  "octavia_amp_ssh_key",
  "neutron_ssh_key",
  "haproxy_ssh_key",
  "gnocchi_project_id",
  "gnocchi_resource_id",
  "gnocchi_user_id",
  "rabbitmq_password",
  "rabbitmq_monitoring_password",
  "rabbitmq_cluster_cookie",
  "haproxy_password",
  "keepalived_password",
  "etcd_cluster_token",
  "valkey_master_password",
  "prometheus_mysql_exporter_database_password",
  "prometheus_alertmanager_password",
  "prometheus_password",
  "prometheus_grafana_password",
  "prometheus_haproxy_password",
  "prometheus_skyline_password",
  "prometheus_bcrypt_salt",
  "keystone_federation_openid_crypto_password",
  "ceph_rgw_keystone_password",
  "libvirt_sasl_password",
  "proxysql_admin_password",
  "proxysql_stats_password",
  "opensearch_dashboards_password",
] as const;
export type KollaPasswordKey = (typeof KOLLA_PASSWORD_KEYS)[number];

const KOLLA_KEYS: ReadonlySet<string> = new Set(KOLLA_PASSWORD_KEYS);
export const isKollaKey = (name: string): name is KollaPasswordKey => KOLLA_KEYS.has(name);

/**
 * How a seed input is recognised as a kolla passwords.yml when no --format is given: a YAML map
 * with at least one of these keys at the top and no TripleO section (parameter_defaults,
 * passwords). Every kolla-ansible release since Ocata has both.
 */
export const KOLLA_MARKER_KEYS = ["database_password", "keystone_admin_password"] as const;

/** kolla-genpwd's length for every key without a rule of its own (40 of [A-Za-z0-9]). */
export const KOLLA_PASSWORD_LENGTH = 40;

/** The map-valued keys: RSA-4096 pairs {private_key (PKCS#8 PEM), public_key (OpenSSH)}. */
export const KOLLA_SSH_KEYS: ReadonlySet<KollaPasswordKey> = new Set([
  "kolla_ssh_key",
  "nova_ssh_key",
  "keystone_ssh_key",
  "bifrost_ssh_key",
  "octavia_amp_ssh_key",
  "neutron_ssh_key",
  "haproxy_ssh_key",
]);
export const SSH_KEY_FIELDS = ["private_key", "public_key"] as const;

/** Left blank by kolla-genpwd: only set when the registry needs a password. */
export const KOLLA_BLANK_KEYS: ReadonlySet<KollaPasswordKey> = new Set([
  "docker_registry_password",
]);

/** Keys kolla renamed: kolla-mergepwd carries the old key's value to the new one. */
export const KOLLA_RENAMED_KEYS: ReadonlyMap<KollaPasswordKey, string> = new Map([
  ["valkey_master_password", "redis_master_password"],
]);

const UUID4: GeneratorSpec = { kind: "uuid4" };
const HMAC_MD5: GeneratorSpec = { kind: "hmac-md5" };
/** cryptography's OpenSSH encoding carries no comment. */
const SSH: GeneratorSpec = { kind: "ssh-keypair", bits: 4096, comment: "" };

/** genpwd.py's special cases; everything else is KOLLA_PASSWORD_LENGTH alphanumerics. */
export const KOLLA_GENERATION_RULES: ReadonlyMap<KollaPasswordKey, GeneratorSpec> = new Map<
  KollaPasswordKey,
  GeneratorSpec
>([
  ["rbd_secret_uuid", UUID4],
  ["cinder_rbd_secret_uuid", UUID4],
  ["gnocchi_project_id", UUID4],
  ["gnocchi_resource_id", UUID4],
  ["gnocchi_user_id", UUID4],
  ["designate_pool_id", UUID4],
  ...[...KOLLA_SSH_KEYS].map((key): [KollaPasswordKey, GeneratorSpec] => [key, SSH]),
  ["designate_rndc_key", HMAC_MD5],
  ["osprofiler_secret", HMAC_MD5],
  ["barbican_crypto_key", { kind: "fernet" }],
  // Ansible's random_salt(22): the bcrypt salt of Prometheus' web config.
  ["prometheus_bcrypt_salt", { kind: "random-salt", length: 22 }],
  ["docker_registry_password", { kind: "none" }],
]);

const KOLLA_DEFAULT: GeneratorSpec = { kind: "alphanumeric", length: KOLLA_PASSWORD_LENGTH };

/** kolla-genpwd's rule for a template key; undefined for any other name. */
export function kollaGeneratorSpec(name: string): GeneratorSpec | undefined {
  if (!isKollaKey(name)) return undefined;
  return KOLLA_GENERATION_RULES.get(name) ?? KOLLA_DEFAULT;
}

/** What kolla-genpwd does with an empty key it does not know: its default password. */
export const kollaGeneratorSpecOrDefault = (name: string): GeneratorSpec =>
  kollaGeneratorSpec(name) ?? KOLLA_DEFAULT;

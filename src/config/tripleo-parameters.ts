/**
 * TripleO's deployment password parameters, as data. Source: openstack-archive/tripleo-common
 * `tripleo_common/constants.py` and `tripleo_common/utils/passwords.py`, final state before
 * the repository was retired.
 */
import type { GeneratorSpec } from "./manifest-schema.js";

/** `PASSWORD_PARAMETER_NAMES`, in source order. */
export const TRIPLEO_PASSWORD_PARAMETER_NAMES = [
  "AdminPassword",
  "AodhPassword",
  "BarbicanPassword",
  "BarbicanSimpleCryptoKek",
  "CeilometerMeteringSecret",
  "CeilometerPassword",
  "CephClientKey",
  "CephClusterFSID",
  "CephManilaClientKey",
  "CephRgwKey",
  "CephGrafanaAdminPassword",
  "CephDashboardAdminPassword",
  "CinderPassword",
  "DesignatePassword",
  "DesignateRndcKey",
  "EtcdInitialClusterToken",
  "GlancePassword",
  "GnocchiPassword",
  "HAProxyStatsPassword",
  "HeatAuthEncryptionKey",
  "HeatPassword",
  "HeatStackDomainAdminPassword",
  "HorizonSecret",
  "IronicPassword",
  "LibvirtTLSPassword",
  "KeystoneCredential0",
  "KeystoneCredential1",
  "KeystoneFernetKeys",
  "KeystonePassword",
  "ManilaPassword",
  "MysqlClustercheckPassword",
  "MysqlMariabackupPassword",
  "MysqlRootPassword",
  "NeutronMetadataProxySharedSecret",
  "NeutronPassword",
  "NovaPassword",
  "MigrationSshKey",
  "OctaviaServerCertsKeyPassphrase",
  "OctaviaCaKeyPassphrase",
  "OctaviaHeartbeatKey",
  "OctaviaPassword",
  "PacemakerRemoteAuthkey",
  "PcsdPassword",
  "PlacementPassword",
  "RpcPassword",
  "NotifyPassword",
  "RabbitCookie",
  "RabbitPassword",
  "RedisPassword",
  "SnmpdReadonlyUserPassword",
  "SwiftHashSuffix",
  "SwiftPassword",
] as const;
export type TripleoParameterName = (typeof TRIPLEO_PASSWORD_PARAMETER_NAMES)[number];

const TRIPLEO_NAMES: ReadonlySet<string> = new Set(TRIPLEO_PASSWORD_PARAMETER_NAMES);
export const isTripleoParameter = (name: string): name is TripleoParameterName =>
  TRIPLEO_NAMES.has(name);

/** `DB_PASSWORD_PARAMETER_NAMES`: values that are also MariaDB account passwords (TripleO
 * uses the list only to pick the ed25519 variant; the two Ceph entries are as in source). */
export const DB_PASSWORD_PARAMETER_NAMES: ReadonlySet<TripleoParameterName> = new Set([
  "AodhPassword",
  "BarbicanPassword",
  "CeilometerPassword",
  "CephGrafanaAdminPassword",
  "CephDashboardAdminPassword",
  "CinderPassword",
  "DesignatePassword",
  "GlancePassword",
  "GnocchiPassword",
  "HeatPassword",
  "HeatStackDomainAdminPassword",
  "IronicPassword",
  "LibvirtTLSPassword",
  "KeystonePassword",
  "ManilaPassword",
  "MysqlClustercheckPassword",
  "MysqlMariabackupPassword",
  "MysqlRootPassword",
  "NeutronPassword",
  "NovaPassword",
  "OctaviaPassword",
  "PlacementPassword",
]);

/** The two parameters whose value is a map rather than a string. */
export const MAP_VALUED_PARAMETERS: ReadonlySet<TripleoParameterName> = new Set([
  "KeystoneFernetKeys",
  "MigrationSshKey",
]);

/** Input-only flag that TripleO copies into its passwords file; it is not a secret. */
export const ED25519_FLAG = "EnableMysqlAuthEd25519";

export interface LegacyParameter {
  /** When it left `PASSWORD_PARAMETER_NAMES` (date of the last touching commit). */
  dropped: string;
  replacedBy?: TripleoParameterName;
}

/** Names from earlier releases that an importer of Queens–Victoria files must tolerate. */
export const LEGACY_PARAMETERS: ReadonlyMap<string, LegacyParameter> = new Map([
  ["AdminToken", { dropped: "2021-07", replacedBy: "KeystonePassword" }],
  ["CephAdminKey", { dropped: "2020-05" }],
  ["CephMdsKey", { dropped: "2020-05" }],
  ["CephMonKey", { dropped: "2020-05" }],
  ["CongressPassword", { dropped: "2021-07" }],
  ["Ec2ApiPassword", { dropped: "2021-07" }],
  ["PankoPassword", { dropped: "2021-07" }],
  ["SaharaPassword", { dropped: "2021-07" }],
  ["KeystoneFernetKey0", { dropped: "2022-06", replacedBy: "KeystoneFernetKeys" }],
  ["KeystoneFernetKey1", { dropped: "2022-06", replacedBy: "KeystoneFernetKeys" }],
  ["MistralPassword", { dropped: "2021-09" }],
  ["ZaqarPassword", { dropped: "2021-09" }],
  ["NovajoinPassword", { dropped: "2022-04" }],
  ["OpenDaylightPassword", { dropped: "2020-01" }],
  ["TackerPassword", { dropped: "2019-09" }],
  ["TrovePassword", { dropped: "2019-09" }],
] satisfies Array<[string, LegacyParameter]>);

/** TripleO's plan post-processing for files from before these parameters existed: the
 * missing one takes the other's value so the live credential does not change on upgrade. */
export const UPGRADE_DEFAULTS: ReadonlyArray<{
  name: TripleoParameterName;
  from: TripleoParameterName;
}> = [
  { name: "RpcPassword", from: "RabbitPassword" },
  { name: "NotifyPassword", from: "RabbitPassword" },
  { name: "PlacementPassword", from: "NovaPassword" },
];

const KEY_MATERIAL = "key material with its own staged rotation workflow (fernet rotate)";
const CEPHX = "CephX keys do not rotate by default; some cannot change once the cluster exists";
const CLUSTER =
  "cluster password: changing it on one node breaks communication with the others " +
  "(pacemaker) or with Galera until every node has it";

/** `DO_NOT_ROTATE_LIST` (13 names) with the reason TripleO gives for each. */
export const DO_NOT_ROTATE: ReadonlyMap<TripleoParameterName, string> = new Map([
  ["BarbicanSimpleCryptoKek", "changing it means re-encrypting every secret Barbican has stored"],
  ["KeystoneCredential0", KEY_MATERIAL],
  ["KeystoneCredential1", KEY_MATERIAL],
  ["KeystoneFernetKeys", KEY_MATERIAL],
  ["CephClientKey", CEPHX],
  ["CephClusterFSID", "the FSID is the Ceph cluster's identity; it cannot change"],
  ["CephManilaClientKey", CEPHX],
  ["CephRgwKey", CEPHX],
  [
    "HeatAuthEncryptionKey",
    "Heat cannot rotate auth_encryption_key: existing stacks could be neither updated nor deleted",
  ],
  ["MysqlClustercheckPassword", CLUSTER],
  ["MysqlMariabackupPassword", "Galera SST user: shared by every node of the cluster"],
  ["PacemakerRemoteAuthkey", CLUSTER],
  ["PcsdPassword", CLUSTER],
] satisfies Array<[TripleoParameterName, string]>);

/** Not in TripleO's list, but refused here as well: rotating them breaks a running cloud. */
export const ROTATION_REFUSED: ReadonlyMap<TripleoParameterName, string> = new Map([
  [
    "RabbitCookie",
    "the Erlang cookie: changing it needs a cluster-wide RabbitMQ stop and recreated containers",
  ],
  [
    "SwiftHashSuffix",
    "swift_hash_path_suffix must never change once the cluster is deployed: object placement depends on it",
  ],
] satisfies Array<[TripleoParameterName, string]>);

/** Why `name` may not rotate, or undefined when it may. */
export function rotationRefusal(name: string): string | undefined {
  if (!isTripleoParameter(name)) return undefined;
  return DO_NOT_ROTATE.get(name) ?? ROTATION_REFUSED.get(name);
}

/** TripleO's default for every parameter without a rule of its own (passlib genword). */
export const DEFAULT_PASSWORD_LENGTH = 25;

/** `passwords.py`'s special cases; everything else is a 25-char alphanumeric. */
export const TRIPLEO_GENERATION_RULES: ReadonlyMap<TripleoParameterName, GeneratorSpec> = new Map<
  TripleoParameterName,
  GeneratorSpec
>([
  ["MysqlRootPassword", { kind: "alphanumeric", length: 10 }],
  ["HorizonSecret", { kind: "alphanumeric", length: 10 }],
  ["PcsdPassword", { kind: "alphanumeric", length: 16 }],
  ["RabbitCookie", { kind: "alphanumeric", length: 20 }],
  ["HeatAuthEncryptionKey", { kind: "alphanumeric", length: 32 }],
  ["OctaviaServerCertsKeyPassphrase", { kind: "alphanumeric", length: 32 }],
  ["PacemakerRemoteAuthkey", { kind: "alphanumeric", length: 4096 }],
  ["CephClientKey", { kind: "cephx" }],
  ["CephManilaClientKey", { kind: "cephx" }],
  ["CephRgwKey", { kind: "cephx" }],
  ["CephClusterFSID", { kind: "uuid4" }],
  ["KeystoneCredential0", { kind: "fernet" }],
  ["KeystoneCredential1", { kind: "fernet" }],
  ["BarbicanSimpleCryptoKek", { kind: "fernet" }],
  ["KeystoneFernetKeys", { kind: "fernet-keys" }],
  ["MigrationSshKey", { kind: "ssh-keypair" }],
  ["DesignateRndcKey", { kind: "rndc-key" }],
  // TripleO copies it from the undercloud's passwords file when there is one; an import
  // of that file does the same here.
  ["SnmpdReadonlyUserPassword", { kind: "alphanumeric", length: 24 }],
]);

export function tripleoGeneratorSpec(name: string): GeneratorSpec | undefined {
  if (!isTripleoParameter(name)) return undefined;
  return (
    TRIPLEO_GENERATION_RULES.get(name) ?? { kind: "alphanumeric", length: DEFAULT_PASSWORD_LENGTH }
  );
}

/**
 * The osp-secret a `format: osp-secret` sink gives examples/tripleo's manifest: each RHOSO key
 * (in osp-secret's order) with the TripleO parameter it takes its value from (the name map's).
 */
export const TRIPLEO_EXAMPLE_OSP_SECRET = {
  AdminPassword: "AdminPassword",
  DbRootPassword: "MysqlRootPassword",
  PlacementPassword: "PlacementPassword",
  GlancePassword: "GlancePassword",
  NeutronPassword: "NeutronPassword",
  CinderPassword: "CinderPassword",
  NovaPassword: "NovaPassword",
  MetadataSecret: "NeutronMetadataProxySharedSecret",
  HeatPassword: "HeatPassword",
  HeatAuthEncryptionKey: "HeatAuthEncryptionKey",
  HeatStackDomainAdminPassword: "HeatStackDomainAdminPassword",
  SwiftPassword: "SwiftPassword",
} as const;

/** A secret's value: a string, or a map for the few map-valued parameters (KeystoneFernetKeys, MigrationSshKey). */
export type SecretValue = string | Record<string, unknown>;

/**
 * The text files of a service kit. Paths go into oslo.config INI files, where `$` would be
 * template substitution and a newline would end the value: `$` is doubled, newlines refused.
 */
import { usageError } from "../lib/errors.js";

export interface KitPaths {
  ca: string;
  clientCert: string;
  clientKey: string;
  castellanConf: string;
  mapping: string;
  /** The CA that verifies Vault's TLS: `ca` for the embedded Vault, absent for the system's CAs. */
  vaultCa?: string;
}

export interface KitContext {
  deployment: string;
  service: string;
  brokerUrl: string;
  vault: { addr: string; kvMount: string };
  paths: KitPaths;
}

/** The only file an oslo.config program needs: `--config-file DIR/oslo-sources.conf`. */
export function osloSourcesConf(context: KitContext): string {
  const { paths } = context;
  const uri = new URL(`/v1/config/${encodeURIComponent(context.service)}.conf`, context.brokerUrl)
    .href;
  return [
    `# strongroom service kit: ${context.service} of deployment ${context.deployment}.`,
    `# Run the service with --config-file ${iniValue(dirOf(paths.ca))}/oslo-sources.conf (plus its usual files):`,
    "# oslo.config then downloads every option of the service from the broker over mTLS.",
    "[DEFAULT]",
    "config_source = strongroom",
    "",
    "[strongroom]",
    "driver = remote_file",
    `uri = ${iniValue(uri)}`,
    `ca_path = ${iniValue(paths.ca)}`,
    `client_cert = ${iniValue(paths.clientCert)}`,
    `client_key = ${iniValue(paths.clientKey)}`,
    "",
    "# Alternative that reads secrets straight from Vault with castellan (AppRole in castellan.conf):",
    "# set `config_source = strongroom_vault` above and keep this section.",
    "[strongroom_vault]",
    "driver = castellan",
    `config_file = ${iniValue(paths.castellanConf)}`,
    `mapping_file = ${iniValue(paths.mapping)}`,
    "",
  ].join("\n");
}

/** castellan's own settings: the Vault key manager with the service's AppRole. */
export function castellanConf(
  context: KitContext,
  credentials: { roleId: string; secretId: string },
): string {
  return [
    `# castellan settings for ${context.service} (strongroom deployment ${context.deployment}).`,
    "# Holds an AppRole secret-id: keep this file readable by the service only.",
    "[key_manager]",
    "backend = vault",
    "",
    "[vault]",
    `vault_url = ${iniValue(context.vault.addr)}`,
    `approle_role_id = ${iniValue(credentials.roleId)}`,
    `approle_secret_id = ${iniValue(credentials.secretId)}`,
    `kv_mountpoint = ${iniValue(context.vault.kvMount)}`,
    "kv_version = 2",
    ...(context.paths.vaultCa ? [`ssl_ca_crt_file = ${iniValue(context.paths.vaultCa)}`] : []),
    "",
  ].join("\n");
}

function iniValue(value: string): string {
  if (/[\r\n]/.test(value))
    throw usageError("paths and addresses in a service kit cannot contain line breaks");
  return value.replaceAll("$", "$$$$");
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

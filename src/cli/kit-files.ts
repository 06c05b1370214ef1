/**
 * The text files of a service kit. Paths and addresses go into oslo.config INI files, written
 * by the one INI renderer (config/render.ts): `$`-escaped, quoted, line breaks refused.
 */
import { iniLine, renderCastellanConfig } from "../config/render.js";

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
    `# Run the service with --config-file ${dirOf(paths.ca)}/oslo-sources.conf (plus its usual files):`,
    "# oslo.config then downloads every option of the service from the broker over mTLS.",
    "[DEFAULT]",
    "config_source = strongroom",
    "",
    "[strongroom]",
    "driver = remote_file",
    line("uri", uri),
    line("ca_path", paths.ca),
    line("client_cert", paths.clientCert),
    line("client_key", paths.clientKey),
    "",
    "# Alternative that reads secrets straight from Vault with castellan (AppRole in castellan.conf):",
    "# set `config_source = strongroom_vault` above and keep this section.",
    "[strongroom_vault]",
    "driver = castellan",
    line("config_file", paths.castellanConf),
    line("mapping_file", paths.mapping),
    "",
  ].join("\n");
}

/** castellan's own settings: the Vault key manager with the service's AppRole. */
export function castellanConf(
  context: KitContext,
  credentials: { roleId: string; secretId: string },
): string {
  return renderCastellanConfig({
    vaultUrl: context.vault.addr,
    roleId: credentials.roleId,
    secretId: credentials.secretId,
    kvMount: context.vault.kvMount,
    ...(context.paths.vaultCa && { caFile: context.paths.vaultCa }),
    comments: [
      `castellan settings for ${context.service} (strongroom deployment ${context.deployment}).`,
      "Holds an AppRole secret-id: keep this file readable by the service only.",
    ],
  });
}

const line = (key: string, value: string) => iniLine(key, value, `oslo-sources.conf ${key}`);

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

/**
 * A service node talks to the broker with its kit alone: the broker's address from the kit's
 * oslo-sources.conf (`[strongroom] uri`, read as oslo.config reads it), its CA and the
 * service's mTLS identity. No operator token is needed, and the broker answers only what
 * that service may see.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { iniValues, parseOsloIni } from "../config/oslo-ini.js";
import { usageError } from "../lib/errors.js";
import { type BrokerConnection, createBrokerClient } from "./broker-client.js";

/** The kit's file names (service-kit writes them). */
export const KIT_FILES = {
  ca: "ca.pem",
  clientCert: "client.pem",
  clientKey: "client.key",
  castellanConf: "castellan.conf",
  mapping: "secrets_mapping.conf",
  osloSources: "oslo-sources.conf",
  /** Only when the Vault has its own private CA (an external Vault with VAULT_CACERT). */
  vaultCa: "vault-ca.pem",
  /** Only when the service has `files` (key repositories): `strongroom files` refreshes it. */
  files: "files",
} as const;

export function kitConnection(kitDir: string): BrokerConnection {
  const read = (name: string) => {
    try {
      return readFileSync(join(kitDir, name));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      throw usageError(`${join(kitDir, name)}: cannot read the service kit (${code})`);
    }
  };
  const sources = join(kitDir, KIT_FILES.osloSources);
  const doc = parseOsloIni(read(KIT_FILES.osloSources).toString("utf8"), sources);
  const uri = iniValues(doc, "strongroom", "uri").at(-1)?.value;
  if (uri === undefined) throw usageError(`${sources} has no [strongroom] uri`);
  return {
    // The kit writes `$` as `$$` (oslo substitution); a broker URL has none to speak of.
    url: new URL(uri.replaceAll("$$", "$")).origin,
    ca: read(KIT_FILES.ca),
    cert: read(KIT_FILES.clientCert),
    key: read(KIT_FILES.clientKey),
  };
}

export const connectWithKit = (kitDir: string) => createBrokerClient(kitConnection(kitDir));

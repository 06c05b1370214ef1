/**
 * `service-kit kolla-readpwd --out DIR`: what kolla's unmodified `kolla-readpwd` needs to read
 * the deployment's values from kolla's layout in strongroom's Vault (`deployment.kolla_vault`):
 * the AppRole's role-id and a fresh secret-id (files, 0600), the Vault's CA, `kolla-vault.json`
 * (address, mount, path, file names) and `kolla-readpwd.sh`, which runs kolla-readpwd with them.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadManifest } from "../config/manifest.js";
import { usageError } from "../lib/errors.js";
import {
  type BrokerState,
  STATE_FILES,
  type StateDir,
  vaultCaFile,
  writeFileAtomic,
} from "../state/state-dir.js";
import { kollaLayoutOf, mintKollaReaderCredentials } from "../vault/kolla-vault.js";
import { kollaReaderRoleName } from "../vault/kv-layout.js";
import { createVaultClient, vaultStatusOf } from "../vault/vault-client.js";

export const KOLLA_KIT_FILES = {
  roleId: "role-id",
  secretId: "secret-id",
  vaultCa: "vault-ca.pem",
  settings: "kolla-vault.json",
  script: "kolla-readpwd.sh",
} as const;

/** Single-quoted for sh. */
const shellQuote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

export async function writeKollaReaderKit(
  dir: StateDir,
  state: BrokerState,
  outDir: string,
): Promise<string> {
  const layout = kollaLayoutOf(loadManifest(state.manifest));
  if (!layout) {
    throw usageError(
      `deployment ${state.deployment} keeps no kolla layout: set deployment.kolla_vault in ${state.manifest} and restart up`,
    );
  }
  const caFile = vaultCaFile(dir, state);
  const operator = createVaultClient({
    addr: state.vault.addr,
    token: dir.readText(STATE_FILES.operatorToken).trim(),
    ca: caFile ? readFileSync(caFile) : undefined,
  });
  const credentials = await mintKollaReaderCredentials(operator, state.deployment).catch(
    (error: unknown) => {
      if (vaultStatusOf(error) !== 404) throw error;
      throw usageError(
        `no AppRole ${kollaReaderRoleName(state.deployment)} yet: restart up with deployment.kolla_vault set`,
      );
    },
  );

  const out = resolve(outDir);
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const file = (name: string) => join(out, name);
  writeFileAtomic(file(KOLLA_KIT_FILES.roleId), `${credentials.roleId}\n`);
  writeFileAtomic(file(KOLLA_KIT_FILES.secretId), `${credentials.secretId}\n`);
  if (caFile) writeFileAtomic(file(KOLLA_KIT_FILES.vaultCa), readFileSync(caFile));
  const settings = {
    vault_addr: state.vault.addr,
    mount_point: layout.mount,
    kv_path: layout.path,
    role_id_file: file(KOLLA_KIT_FILES.roleId),
    secret_id_file: file(KOLLA_KIT_FILES.secretId),
    ...(caFile && { cacert: file(KOLLA_KIT_FILES.vaultCa) }),
  };
  writeFileAtomic(file(KOLLA_KIT_FILES.settings), `${JSON.stringify(settings, null, 2)}\n`);
  writeFileAtomic(file(KOLLA_KIT_FILES.script), readpwdScript(state.deployment, settings));
  return out;
}

/** kolla-readpwd takes the secret-id on its command line (its interface): read at run time. */
function readpwdScript(
  deployment: string,
  settings: { vault_addr: string; mount_point: string; kv_path: string; cacert?: string },
): string {
  const kit = (name: string) => `"$kit"/${name}`;
  return [
    "#!/bin/sh",
    `# kolla-readpwd against strongroom's Vault, deployment ${deployment} (strongroom service-kit).`,
    "# Usage: sh kolla-readpwd.sh [--passwords /etc/kolla/passwords.yml]; KOLLA_READPWD overrides the command.",
    "# kolla-readpwd puts the secret-id on its own command line: run it where no one else can list processes.",
    "set -eu",
    'kit=$(dirname "$0")',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: sh's default-value expansion.
    'exec "${KOLLA_READPWD:-kolla-readpwd}" \\',
    `  --vault-addr ${shellQuote(settings.vault_addr)} \\`,
    `  --vault-mount-point ${shellQuote(settings.mount_point)} \\`,
    `  --vault-kv-path ${shellQuote(settings.kv_path)} \\`,
    `  --vault-role-id "$(cat ${kit(KOLLA_KIT_FILES.roleId)})" \\`,
    `  --vault-secret-id "$(cat ${kit(KOLLA_KIT_FILES.secretId)})" \\`,
    ...(settings.cacert ? [`  --vault-cacert ${kit(KOLLA_KIT_FILES.vaultCa)} \\`] : []),
    '  "$@"',
    "",
  ].join("\n");
}

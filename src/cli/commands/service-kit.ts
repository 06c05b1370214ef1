import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command } from "@commander-js/extra-typings";
import type { Static } from "typebox";
import { parseDurationSeconds } from "../../lib/durations.js";
import { usageError } from "../../lib/errors.js";
import type { KitIssuedBody, ServiceFilesAnswer } from "../../server/wire.js";
import {
  resolveStateDirPath,
  STATE_FILES,
  vaultCaFile,
  writeFileAtomic,
} from "../../state/state-dir.js";
import { KOLLA_READER, roleApiPath, serviceRoleName } from "../../vault/kv-layout.js";
import type { VaultClient } from "../../vault/vault-client.js";
import { brokerPath, connectBroker } from "../broker-client.js";
import type { CliContext } from "../context.js";
import { KIT_FILES } from "../kit-connection.js";
import { castellanConf, type KitContext, osloSourcesConf } from "../kit-files.js";
import { writeServiceFiles } from "../service-files.js";
import { stateDirOption } from "../shared-options.js";

export function serviceKitCommand(context: CliContext) {
  return new Command("service-kit")
    .summary("Write one service node's mTLS identity and oslo/castellan config")
    .description(
      "Write what one service node needs into DIR (0700, files 0600): ca.pem, the service's mTLS\n" +
        "identity (client.pem, client.key), castellan.conf (the Vault key manager with the service's\n" +
        "AppRole and a fresh secret-id), secrets_mapping.conf, and oslo-sources.conf, the one file a\n" +
        "real oslo.config program needs (--config-file DIR/oslo-sources.conf) to load every option of\n" +
        "the service from strongroom.",
    )
    .argument("<service>", "service name from the manifest, e.g. nova")
    .requiredOption("--out <dir>", "directory to write the kit into (created 0700 when missing)")
    .option(
      "--secret-id-ttl <duration>",
      "how long the kit's secret-id and certificate live (90s, 30m, 720h, 30d; default: the manifest's deployment.kit_secret_id_ttl, else no expiry)",
    )
    .addOption(stateDirOption())
    .addHelpText(
      "after",
      "\nExample:\n" +
        "  strongroom service-kit nova --out /etc/nova/strongroom\n" +
        "  strongroom service-kit nova --out /etc/nova/strongroom --secret-id-ttl 720h\n" +
        "  nova-api --config-file /etc/nova/nova.conf --config-file /etc/nova/strongroom/oslo-sources.conf\n" +
        "  strongroom service-kit kolla-readpwd --out DIR   # kolla's reader (deployment.kolla_vault)\n",
    )
    .action(async (service, options) => {
      const requestedTtl =
        options.secretIdTtl === undefined
          ? undefined
          : parseDurationSeconds(options.secretIdTtl, "--secret-id-ttl");
      const broker = connectBroker(resolveStateDirPath(options.stateDir, context.env.stateDir));
      const { state, dir } = broker;
      if (service === KOLLA_READER) {
        const { writeKollaReaderKit } = await import("../kolla-reader-kit.js");
        const out = await writeKollaReaderKit(dir, state, options.out);
        process.stdout.write(
          `wrote the kolla-readpwd kit to ${out}\nuse it with: sh ${join(out, "kolla-readpwd.sh")} --passwords /etc/kolla/passwords.yml\n`,
        );
        return;
      }
      // The broker knows the service (404 otherwise) before a secret-id is minted for it.
      const mapping = await broker.text("GET", brokerPath("castellan", service, "mapping.conf"));
      const { mintServiceCredentials } = await import("../../vault/bootstrap.js");
      const { createVaultClient } = await import("../../vault/vault-client.js");
      const { describeCertificate, issueClientCertificate } = await import("../../lib/pki.js");
      const caFile = vaultCaFile(dir, state);
      const vaultCa = caFile ? readFileSync(caFile) : undefined;
      const operator = createVaultClient({
        addr: state.vault.addr,
        token: dir.readText(STATE_FILES.operatorToken).trim(),
        ca: vaultCa,
      });
      const ttl = await secretIdTtl(operator, state.deployment, service, requestedTtl);
      // The kit's own mTLS identity: revoking it stops this kit alone. It ends with its secret-id.
      const identity = await issueClientCertificate(
        { cert: dir.readText(STATE_FILES.caCert), key: dir.readText(STATE_FILES.caKey) },
        { kind: "service", service },
        ttl > 0 ? ttl * 1000 : undefined,
      );
      const certificate = describeCertificate(identity.cert);
      const credentials = await mintServiceCredentials(operator, state.deployment, service, {
        ...(requestedTtl !== undefined && { ttl }),
        kit: certificate.serial,
      });
      const issuedAt = Date.now();
      // The broker records the kit for `kits list|revoke`, and audits it (never its secret-id).
      const kitBody: Static<typeof KitIssuedBody> = {
        secret_id_accessor: credentials.secretIdAccessor,
        serial: certificate.serial,
        fingerprint: certificate.fingerprint,
        not_after: certificate.notAfter.toISOString(),
        ...(credentials.secretIdTtl > 0 && {
          secret_id_expires: new Date(issuedAt + credentials.secretIdTtl * 1000).toISOString(),
        }),
      };
      await broker.json("POST", brokerPath("kits", service), kitBody);

      const out = resolve(options.out);
      mkdirSync(out, { recursive: true, mode: 0o700 });
      const paths = {
        ca: join(out, KIT_FILES.ca),
        clientCert: join(out, KIT_FILES.clientCert),
        clientKey: join(out, KIT_FILES.clientKey),
        castellanConf: join(out, KIT_FILES.castellanConf),
        mapping: join(out, KIT_FILES.mapping),
      };
      const ownVaultCa = vaultCa !== undefined && caFile !== dir.file(STATE_FILES.caCert);
      const vaultCaPath = ownVaultCa
        ? join(out, KIT_FILES.vaultCa)
        : vaultCa
          ? paths.ca
          : undefined;
      const kit: KitContext = {
        deployment: state.deployment,
        service,
        brokerUrl: state.broker.url,
        vault: state.vault,
        paths: { ...paths, ...(vaultCaPath && { vaultCa: vaultCaPath }) },
      };
      writeFileAtomic(paths.ca, dir.read(STATE_FILES.caCert));
      if (ownVaultCa) writeFileAtomic(join(out, KIT_FILES.vaultCa), vaultCa);
      writeFileAtomic(paths.clientCert, identity.cert);
      writeFileAtomic(paths.clientKey, identity.key);
      writeFileAtomic(paths.castellanConf, castellanConf(kit, credentials));
      writeFileAtomic(paths.mapping, mapping);
      writeFileAtomic(join(out, KIT_FILES.osloSources), osloSourcesConf(kit));
      const { files } = await broker.json<Static<typeof ServiceFilesAnswer>>(
        "GET",
        brokerPath("files", service),
      );
      const fileDir = join(out, KIT_FILES.files);
      if (files.length > 0) writeServiceFiles(fileDir, files);
      process.stdout.write(
        `wrote the ${service} kit to ${out}\n` +
          `use it with: --config-file ${join(out, KIT_FILES.osloSources)}\n` +
          (files.length > 0
            ? `its key files are in ${fileDir} (refresh: strongroom files ${service} --kit ${out})\n`
            : ""),
      );
    });
}

/**
 * The secret-id's life in seconds (0: none): the one asked for, else the AppRole's
 * secret_id_ttl (the manifest's kit_secret_id_ttl), which Vault also makes the longest allowed.
 */
async function secretIdTtl(
  operator: VaultClient,
  deployment: string,
  service: string,
  requested: number | undefined,
): Promise<number> {
  const role = await operator.read(roleApiPath(serviceRoleName(deployment, service)));
  const limit = Number(role?.data?.secret_id_ttl ?? 0);
  if (requested === undefined) return limit;
  if (limit > 0 && (requested === 0 || requested > limit)) {
    throw usageError(
      `--secret-id-ttl: at most ${limit} s, the deployment's kit_secret_id_ttl (and not 0)`,
    );
  }
  return requested;
}

import {
  type ClientIdentity,
  createCertificateAuthority,
  describeCertificate,
  issueClientCertificate,
  issueServerCertificate,
  type PemPair,
} from "../lib/pki.js";
import { identityFiles, STATE_FILES, type StateDir } from "./state-dir.js";

export { identityFiles };

/** Certificates closer than this to their end are issued again at the next `up`. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

export interface StatePki {
  ca: PemPair;
  caFile: string;
  server: { certFile: string; keyFile: string };
}

/**
 * Makes sure the state dir holds the CA, a server certificate valid for `hosts`, and a client
 * identity for the operator and for every service. Existing ones are kept while valid, so kits
 * handed out earlier keep working across restarts.
 */
export async function ensureStatePki(
  dir: StateDir,
  options: { services: readonly string[]; hosts: readonly string[] },
): Promise<StatePki> {
  const previousCa = dir.has(STATE_FILES.caCert) ? dir.readText(STATE_FILES.caCert) : undefined;
  const ca = await ensurePair(dir, STATE_FILES.caCert, STATE_FILES.caKey, () =>
    createCertificateAuthority(),
  );
  // A new CA invalidates everything it signed before.
  const caChanged = previousCa !== ca.cert;
  await ensurePair(
    dir,
    STATE_FILES.serverCert,
    STATE_FILES.serverKey,
    () => issueServerCertificate(ca, options.hosts),
    (pem) =>
      !caChanged && options.hosts.every((host) => describeCertificate(pem).hosts.includes(host)),
  );
  const identities: ClientIdentity[] = [
    { kind: "operator" },
    ...options.services.map((service): ClientIdentity => ({ kind: "service", service })),
  ];
  for (const identity of identities) {
    const { cert, key } = identityFiles(identity);
    await ensurePair(
      dir,
      cert,
      key,
      () => issueClientCertificate(ca, identity),
      () => !caChanged,
    );
  }
  return {
    ca,
    caFile: dir.file(STATE_FILES.caCert),
    server: {
      certFile: dir.file(STATE_FILES.serverCert),
      keyFile: dir.file(STATE_FILES.serverKey),
    },
  };
}

async function ensurePair(
  dir: StateDir,
  certName: string,
  keyName: string,
  make: () => Promise<PemPair>,
  stillFits: (pem: string) => boolean = () => true,
): Promise<PemPair> {
  if (dir.has(certName) && dir.has(keyName)) {
    const existing = { cert: dir.readText(certName), key: dir.readText(keyName) };
    const fresh =
      describeCertificate(existing.cert).notAfter.getTime() - Date.now() > RENEW_BEFORE_MS;
    if (fresh && stillFits(existing.cert)) return existing;
  }
  const pair = await make();
  // The key first: a crash in between leaves a key without its certificate, which is reissued.
  dir.write(keyName, pair.key);
  dir.write(certName, pair.cert);
  return pair;
}

/**
 * The broker's small PKI (ECDSA P-256): a CA, the server certificate, and one mTLS client identity
 * per service plus one for the operator. Everything comes out as PEM (PKCS#8 keys).
 */
import "reflect-metadata";
import { createHash, webcrypto } from "node:crypto";
import { isIP } from "node:net";
import * as x509 from "@peculiar/x509";

export interface PemPair {
  cert: string;
  key: string;
}

export type ClientIdentity = { kind: "service"; service: string } | { kind: "operator" };

export const SERVICE_OU = "strongroom-service";
export const OPERATOR_OU = "strongroom-operator";
export const OPERATOR_CN = "operator";

/** Hosts every server certificate carries, so loopback clients always verify. */
export const LOOPBACK_HOSTS = ["127.0.0.1", "::1", "localhost"] as const;

const CA_YEARS = 10;
const LEAF_DAYS = 825;
const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const crypto = webcrypto;

x509.cryptoProvider.set(crypto);

export async function createCertificateAuthority(commonName = "strongroom CA"): Promise<PemPair> {
  const keys = await generateKeys();
  const notBefore = backdated();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [commonName] }, { O: ["strongroom"] }],
    notBefore,
    notAfter: new Date(notBefore.getTime() + CA_YEARS * 365 * 86_400_000),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString("pem"), key: await privateKeyPem(keys.privateKey) };
}

/** A TLS server certificate for the loopback names plus `hosts` (IP addresses or DNS names). */
export async function issueServerCertificate(
  ca: PemPair,
  hosts: readonly string[] = [],
): Promise<PemPair> {
  const names = [...new Set([...LOOPBACK_HOSTS, ...hosts])].map(
    (host): x509.JsonGeneralName => ({ type: isIP(host) ? "ip" : "dns", value: host }),
  );
  return issue(
    ca,
    [{ CN: ["strongroom broker"] }, { O: ["strongroom"] }],
    x509.ExtendedKeyUsage.serverAuth,
    [new x509.SubjectAlternativeNameExtension(names)],
  );
}

/** An mTLS client identity: CN = service name (or "operator"), OU says which kind. */
export async function issueClientCertificate(
  ca: PemPair,
  identity: ClientIdentity,
  /** Shorter than the default leaf lifetime (a kit whose secret-id expires sooner). */
  validForMs?: number,
): Promise<PemPair> {
  const [cn, ou] =
    identity.kind === "operator" ? [OPERATOR_CN, OPERATOR_OU] : [identity.service, SERVICE_OU];
  return issue(
    ca,
    [{ CN: [cn] }, { OU: [ou] }, { O: ["strongroom"] }],
    x509.ExtendedKeyUsage.clientAuth,
    [],
    validForMs,
  );
}

/** Reads the identity a client certificate's subject claims (the caller has verified the chain). */
export function identityFromSubject(
  subject: { CN?: unknown; OU?: unknown } | undefined,
): ClientIdentity | undefined {
  const cn = single(subject?.CN);
  const ou = single(subject?.OU);
  if (!cn || !ou) return undefined;
  if (ou === OPERATOR_OU) return cn === OPERATOR_CN ? { kind: "operator" } : undefined;
  if (ou === SERVICE_OU) return { kind: "service", service: cn };
  return undefined;
}

/** One spelling of a serial number: lower-case hex, no colons, no leading zeros (Node: upper-case). */
export const canonicalSerial = (serial: string): string =>
  serial
    .replace(/:/g, "")
    .toLowerCase()
    .replace(/^0+(?=.)/, "");

export interface CertificateSummary {
  notAfter: Date;
  /** Lower-case hex, no leading zeros (how the broker's deny-list spells serials). */
  serial: string;
  /** SHA-256 of the DER certificate, lower-case hex. */
  fingerprint: string;
  /** DNS names and IP addresses of the subjectAltName extension. */
  hosts: string[];
}

export function describeCertificate(pem: string): CertificateSummary {
  const cert = new x509.X509Certificate(pem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const hosts = (san?.names.toJSON() ?? [])
    .filter((n) => n.type === "dns" || n.type === "ip")
    .map((n) => n.value);
  return {
    notAfter: cert.notAfter,
    serial: canonicalSerial(cert.serialNumber),
    fingerprint: createHash("sha256").update(new Uint8Array(cert.rawData)).digest("hex"),
    hosts,
  };
}

async function issue(
  ca: PemPair,
  subject: x509.JsonName,
  usage: x509.ExtendedKeyUsage,
  extra: x509.Extension[] = [],
  validForMs = LEAF_DAYS * 86_400_000,
): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importPrivateKey(ca.key);
  const keys = await generateKeys();
  const notBefore = backdated();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: caCert.subject,
    notBefore,
    notAfter: new Date(Date.now() + Math.min(validForMs, LEAF_DAYS * 86_400_000)),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([usage]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ...extra,
    ],
  });
  return { cert: cert.toString("pem"), key: await privateKeyPem(keys.privateKey) };
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

async function importPrivateKey(pem: string): Promise<webcrypto.CryptoKey> {
  const [der] = x509.PemConverter.decode(pem);
  if (!der) throw new Error("the CA key is not a PEM private key");
  return crypto.subtle.importKey("pkcs8", der, KEY_ALGORITHM, false, ["sign"]);
}

/** Positive 128-bit serial (the high bit clear keeps DER from reading it as negative). */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString("hex");
}

/** Certificates start a few minutes in the past, so clocks a little behind still accept them. */
function backdated(): Date {
  return new Date(Date.now() - 5 * 60_000);
}

function single(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === "string") return value[0];
  return undefined;
}

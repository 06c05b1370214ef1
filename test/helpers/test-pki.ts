// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto);

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };

export interface PemPair {
  cert: string;
  key: string;
}

export interface TestCa extends PemPair {
  /** Issues a leaf certificate: a server one (SAN 127.0.0.1, localhost) or a client one. */
  issue(commonName: string, usage: "server" | "client"): Promise<PemPair>;
}

const generateKeys = () =>
  webcrypto.subtle.generateKey(ALGORITHM, true, [
    "sign",
    "verify",
  ]) as Promise<webcrypto.CryptoKeyPair>;

async function keyPem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  return x509.PemConverter.encode(
    await webcrypto.subtle.exportKey("pkcs8", keys.privateKey),
    "PRIVATE KEY",
  );
}

const validity = () => ({
  notBefore: new Date(Date.now() - 60_000),
  notAfter: new Date(Date.now() + 24 * 3600_000),
});

/** A throwaway CA for tests; keys live in memory and in whatever the caller writes. */
export async function createTestCa(commonName: string): Promise<TestCa> {
  const caKeys = await generateKeys();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    ...validity(),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  return {
    cert: caCert.toString("pem"),
    key: await keyPem(caKeys),
    async issue(cn, usage) {
      const keys = await generateKeys();
      const extensions: x509.Extension[] = [
        new x509.BasicConstraintsExtension(false),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth,
        ]),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      ];
      if (usage === "server") {
        extensions.push(
          new x509.SubjectAlternativeNameExtension([
            { type: "ip", value: "127.0.0.1" },
            { type: "dns", value: "localhost" },
          ]),
        );
      }
      const cert = await x509.X509CertificateGenerator.create({
        subject: `CN=${cn}`,
        issuer: caCert.subject,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: ALGORITHM,
        ...validity(),
        extensions,
      });
      return { cert: cert.toString("pem"), key: await keyPem(keys) };
    },
  };
}

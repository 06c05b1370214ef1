import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createServer as createTlsServer, connect as tlsConnect } from "node:tls";
import { beforeAll, describe, expect, it } from "vitest";
import {
  createCertificateAuthority,
  describeCertificate,
  identityFromSubject,
  issueClientCertificate,
  issueServerCertificate,
  type PemPair,
} from "../../../src/lib/pki.js";

let ca: PemPair;
beforeAll(async () => {
  ca = await createCertificateAuthority();
});

describe("pki", () => {
  it("creates an ECDSA P-256 CA that may sign certificates only", () => {
    const cert = new X509Certificate(ca.cert);
    expect(cert.ca).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(cert.checkIssued(cert)).toBe(true);
    expect(ca.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it("issues a server certificate for the loopback names plus the given hosts", async () => {
    const server = await issueServerCertificate(ca, ["broker.example", "10.0.0.5"]);
    const cert = new X509Certificate(server.cert);
    expect(cert.ca).toBe(false);
    expect(cert.verify(new X509Certificate(ca.cert).publicKey)).toBe(true);
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.checkIP("::1")).toBeDefined();
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(cert.checkHost("broker.example")).toBe("broker.example");
    expect(cert.checkIP("10.0.0.5")).toBe("10.0.0.5");
    expect(cert.checkHost("other.example")).toBeUndefined();
    expect(describeCertificate(server.cert).hosts).toEqual([
      "127.0.0.1",
      "::1",
      "localhost",
      "broker.example",
      "10.0.0.5",
    ]);
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
  });

  it("issues client identities whose subject names the service or the operator", async () => {
    const nova = new X509Certificate(
      (await issueClientCertificate(ca, { kind: "service", service: "nova" })).cert,
    );
    expect(nova.subject).toContain("CN=nova");
    expect(nova.subject).toContain("OU=strongroom-service");
    expect(nova.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    const operator = new X509Certificate(
      (await issueClientCertificate(ca, { kind: "operator" })).cert,
    );
    expect(operator.subject).toContain("CN=operator");
    expect(operator.subject).toContain("OU=strongroom-operator");
  });

  it("reads identities from a subject, refusing anything ambiguous", () => {
    expect(identityFromSubject({ CN: "nova", OU: "strongroom-service" })).toEqual({
      kind: "service",
      service: "nova",
    });
    expect(identityFromSubject({ CN: "operator", OU: "strongroom-operator" })).toEqual({
      kind: "operator",
    });
    expect(identityFromSubject({ CN: "nova", OU: "strongroom-operator" })).toBeUndefined();
    expect(
      identityFromSubject({ CN: ["nova", "neutron"], OU: "strongroom-service" }),
    ).toBeUndefined();
    expect(identityFromSubject({ CN: "nova", OU: "someone-else" })).toBeUndefined();
    expect(identityFromSubject({ CN: "nova" })).toBeUndefined();
    expect(identityFromSubject(undefined)).toBeUndefined();
  });

  it("works for a real mutual TLS handshake, and a foreign CA's client is not authorized", async () => {
    const server = await issueServerCertificate(ca);
    const client = await issueClientCertificate(ca, { kind: "service", service: "nova" });
    const foreign = await issueClientCertificate(await createCertificateAuthority("other"), {
      kind: "service",
      service: "nova",
    });
    const tls = createTlsServer(
      { ...server, ca: ca.cert, requestCert: true, rejectUnauthorized: false },
      (socket) => {
        const peer = socket.getPeerCertificate();
        socket.end(
          JSON.stringify({
            authorized: socket.authorized,
            identity: identityFromSubject(peer.subject),
          }),
        );
      },
    );
    tls.listen(0, "127.0.0.1");
    await once(tls, "listening");
    const { port } = tls.address() as AddressInfo;
    const ask = async (pair: PemPair) => {
      const socket = tlsConnect({ host: "127.0.0.1", port, ca: ca.cert, ...pair });
      let text = "";
      socket.setEncoding("utf8").on("data", (chunk: string) => {
        text += chunk;
      });
      await once(socket, "end");
      return JSON.parse(text) as { authorized: boolean; identity?: unknown };
    };
    try {
      expect(await ask(client)).toEqual({
        authorized: true,
        identity: { kind: "service", service: "nova" },
      });
      expect((await ask(foreign)).authorized).toBe(false);
    } finally {
      tls.close();
    }
  });
});

// The restart storm's baseline, in its own process: a bare fastify HTTPS route answering a
// constant INI, with the broker's TLS settings (its certificate, client certificates required
// and verified against the same CA). Args: port cert key ca
import { readFileSync } from "node:fs";
import Fastify from "fastify";

const [port, cert, key, ca] = process.argv.slice(2);
const ini = "[DEFAULT]\npassword = constant\nregion = RegionOne\n";
const app = Fastify({
  logger: false,
  https: {
    cert: readFileSync(cert),
    key: readFileSync(key),
    ca: readFileSync(ca),
    minVersion: "TLSv1.2",
    requestCert: true,
    rejectUnauthorized: true,
  },
});
app.get("/v1/config/:file", async (_request, reply) => reply.type("text/plain").send(ini));
await app.listen({ host: "127.0.0.1", port: Number(port) });
process.on("SIGTERM", () => process.exit(0));

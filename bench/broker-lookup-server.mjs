// One side of the lookup benchmark, in its own process: `broker` serves the real broker app
// (dist/) over a constant in-memory BrokerService; `bare` is a bare fastify route answering the
// same JSON. Both with the same TLS settings. Args: mode port tls-dir logging(on|off)
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [mode, portArg, dir, logging] = process.argv.slice(2);
const port = Number(portArg);
const tls = {
  cert: readFileSync(join(dir, "cert.pem")),
  key: readFileSync(join(dir, "key.pem")),
  ca: readFileSync(join(dir, "cert.pem")),
};
export const TOKEN = "bench-operator-token";
const answer = {
  group: "database",
  option: "connection",
  value: "mysql+pymysql://nova:constant@192.0.2.10/nova?read_default_file=/etc/my.cnf",
  type: "string",
  secret: true,
  location: { source: "castellan", detail: "NovaPassword" },
  version: 1,
};

if (mode === "broker") {
  const { startBrokerServer } = await import("../dist/src/server/server.js");
  const broker = {
    deployment: "bench",
    services: () => ["nova"],
    hasOption: (service, group, option) =>
      service === "nova" && group === "database" && option === "connection",
    lookup: async () => answer,
    serviceOptions: async () => [answer],
    renderIni: async () => "",
    castellanMapping: () => "",
    castellanConfig: () => "",
    listSecrets: async () => [],
    putSecret: async () => ({ version: 1 }),
    seed: async () => ({ dryRun: true, entries: [], written: 0 }),
  };
  const operator = { kind: "operator" };
  const auth = {
    fromCertificate: () => undefined,
    fromToken: async (token) => (token === TOKEN ? operator : undefined),
  };
  await startBrokerServer({
    deps: {
      broker,
      auth,
      // With logging on, request lines go to this process's stdout, which the runner discards.
      logger: logging === "on" ? {} : false,
      // One client address sends everything: lift the read limit so it is counted, never hit.
      rateLimit: { read: { max: Number.MAX_SAFE_INTEGER } },
    },
    host: "127.0.0.1",
    port,
    tls,
  });
} else {
  const { default: Fastify } = await import("fastify");
  const { value, type, location, version } = answer;
  const constant = { value, type, location, version };
  const app = Fastify({
    logger: false,
    https: { ...tls, minVersion: "TLSv1.2", requestCert: true, rejectUnauthorized: false },
  });
  app.get("/v1/config/:service/:group/:option", async () => constant);
  await app.listen({ host: "127.0.0.1", port });
}
process.on("SIGTERM", () => process.exit(0));

import type { PeerCertificate } from "node:tls";
import type { Authenticator, Principal } from "../../src/broker/authenticator.js";
import type {
  BrokerService,
  ResolvedOption,
  SecretMetadata,
  SeedReport,
} from "../../src/broker/broker-service.js";
import type { BundleExporter } from "../../src/bundle/export-store.js";
import { StrongroomError } from "../../src/lib/errors.js";

/** A value no test may ever see in an error body or a log line. */
export const SECRET_VALUE = "s3cr3t-$$-value";

const option = (group: string, name: string, value: unknown, secret: boolean): ResolvedOption => ({
  group,
  option: name,
  value,
  type: typeof value === "number" ? "integer" : "string",
  secret,
  location: secret
    ? { source: "castellan", detail: "NovaPassword" }
    : { source: "default", detail: "" },
  version: secret ? 3 : 0,
});

export interface FakeBroker extends BrokerService {
  calls: { putSecret: Array<{ name: string }>; seed: Array<Parameters<BrokerService["seed"]>[0]> };
  failNextWith?: Error;
}

/** In-memory BrokerService: services nova and neutron, a few options, no Vault. */
export function createFakeBroker(): FakeBroker {
  const options = new Map<string, ResolvedOption[]>([
    [
      "nova",
      [
        option("database", "connection", `mysql+pymysql://nova:${SECRET_VALUE}@db/nova`, true),
        option("DEFAULT", "debug", "false", false),
        option("DEFAULT", "workers", 4, false),
      ],
    ],
    ["neutron", [option("database", "connection", "mysql+pymysql://neutron:x@db/neutron", true)]],
  ]);
  const calls: FakeBroker["calls"] = { putSecret: [], seed: [] };
  const broker: FakeBroker = {
    deployment: "overcloud",
    calls,
    services: () => [...options.keys()],
    hasService: (service) => options.has(service),
    hasOption: (service, group, name) =>
      options.get(service)?.some((o) => o.group === group && o.option === name) ?? false,
    async lookup(service, group, name) {
      takeFailure();
      const found = options.get(service)?.find((o) => o.group === group && o.option === name);
      if (!found) throw new StrongroomError("STRONGROOM_ERR_NOT_FOUND", "no such option");
      return found;
    },
    async serviceOptions(service) {
      takeFailure();
      return options.get(service) ?? [];
    },
    async renderIni(service) {
      takeFailure();
      return `[database]\nconnection = "${service}-café-$$"\n`;
    },
    async serviceFiles(service) {
      takeFailure();
      return [
        { path: "keys/0", content: `${service}-${SECRET_VALUE}`, secret: "KeyRepo", version: 2 },
      ];
    },
    castellanMapping: (service) =>
      `[database]\nconnection = ${service === "nova" ? "NovaPassword" : "NeutronPassword"}\n`,
    castellanConfig: (service, { roleId }) =>
      `[key_manager]\nbackend = vault\n\n[vault]\napprole_role_id = ${roleId}\napprole_secret_id = <for ${service}>\n`,
    async listSecrets(): Promise<SecretMetadata[]> {
      takeFailure();
      return [
        {
          name: "NovaPassword",
          type: "passphrase",
          version: 3,
          created: 1700000000,
          consumers: ["nova"],
        },
      ];
    },
    async putSecret(name) {
      takeFailure();
      calls.putSecret.push({ name });
      return { version: 4 };
    },
    async seed(input): Promise<SeedReport> {
      takeFailure();
      calls.seed.push(input);
      return {
        dryRun: input.dryRun,
        written: input.dryRun ? 0 : 1,
        entries: [{ name: "NovaPassword", action: "import" }],
      };
    },
  };
  function takeFailure() {
    const failure = broker.failNextWith;
    broker.failNextWith = undefined;
    if (failure) throw failure;
  }
  return broker;
}

export const OPERATOR_TOKEN = "operator-token";
export const NOVA_TOKEN = "nova-token";

export interface FakeAuthenticator extends Authenticator {
  certificateCalls: number;
}

/** Tokens from a fixed table; a certificate's CN names the service. */
export function createFakeAuthenticator(
  services: readonly string[] = ["nova", "neutron"],
): FakeAuthenticator {
  const tokens = new Map<string, Principal>([
    [OPERATOR_TOKEN, { kind: "operator" }],
    [NOVA_TOKEN, { kind: "service", service: "nova" }],
  ]);
  const auth: FakeAuthenticator = {
    certificateCalls: 0,
    fromCertificate(cert: PeerCertificate) {
      auth.certificateCalls++;
      const cn = cert.subject?.CN;
      return typeof cn === "string" && services.includes(cn)
        ? { kind: "service", service: cn }
        : undefined;
    },
    fromToken: async (token) => tokens.get(token),
  };
  return auth;
}

/** An exporter that refuses every request (the export routes' own tests use a real one). */
export const refusingExporter: BundleExporter = {
  prepare: async () => {
    throw new StrongroomError("STRONGROOM_ERR_USAGE", "no export in this test");
  },
};

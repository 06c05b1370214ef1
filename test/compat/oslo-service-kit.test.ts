/**
 * A service kit against the real clients (Debian's oslo.config 9.0.0 and castellan 4.0.0):
 * `--config-file KIT/oslo-sources.conf` alone makes an oslo.config program load every option of
 * its service over mTLS, byte-exact; the kit opens nothing else, and nobody without an identity
 * of the broker's CA gets anything.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { loadManifest, secretsReferencedBy } from "../../src/config/manifest.js";
import { createCertificateAuthority, issueClientCertificate } from "../../src/lib/pki.js";
import { describeWithPython, runPython } from "../helpers/python.js";
import {
  EXAMPLE_MANIFEST,
  httpsRequest,
  operatorToken,
  readState,
  useUp,
} from "../helpers/strongroom-up.js";

// Everything oslo's INI parser, its `$` substitution and URL templates could mangle.
const NASTY = "  pa$word $$ 100% us@r:x #no-comment ;semi \"dq\" 'sq' ünïcødé 漢字 €  ";

const manifest = loadManifest(EXAMPLE_MANIFEST);

interface OsloRun {
  values: Record<string, Record<string, unknown>>;
  locations: Record<string, Record<string, string | null>>;
  sources: string[];
}

/** nova's options as the service registers them: types from the manifest. */
const novaSpec = () =>
  [...manifest.services.get("nova")!.options].flatMap(([group, options]) =>
    [...options].map(([name, spec]) => ({ group, name, type: spec.type, secret: spec.secret })),
  );

async function runOsloProgram(configFile: string): Promise<{ run: OsloRun; stderr: string }> {
  const result = await runPython("test/compat/oslo_kit_client.py", ["--config-file", configFile], {
    input: JSON.stringify(novaSpec()),
    timeoutMs: 60_000,
  });
  expect(result.code, result.stderr).toBe(0);
  return { run: JSON.parse(result.stdout) as OsloRun, stderr: result.stderr };
}

describeWithPython(
  ["oslo_config", "castellan"],
  "service kit with the real oslo.config and castellan",
  () => {
    const { root, stateDir, cli } = useUp("strongroom-kit-", { stopSignal: "SIGTERM" });
    const kit = join(root, "nova-kit");
    const ca = () => readFileSync(join(stateDir, "ca.pem"));
    const novaIdentity = () => ({
      cert: readFileSync(join(kit, "client.pem")),
      key: readFileSync(join(kit, "client.key")),
    });

    beforeAll(async () => {
      const { broker } = readState(stateDir);
      const put = await httpsRequest(`${broker.url}/v1/secrets/NovaPassword`, {
        ca: ca(),
        token: operatorToken(stateDir),
        method: "PUT",
        body: { value: NASTY },
      });
      expect(put.status, put.text).toBe(200);
      await cli(["service-kit", "nova", "--out", kit]);
    });

    it("loads every nova option through remote_file over mTLS with only --config-file KIT/oslo-sources.conf", async () => {
      const { run, stderr } = await runOsloProgram(join(kit, "oslo-sources.conf"));
      expect(stderr).not.toMatch(/ERROR/);
      expect(run.sources).toHaveLength(1);
      expect(run.values.keystone_authtoken!.password).toBe(NASTY);
      expect(run.values.service_user!.password).toBe(NASTY);
      expect(run.values.database!.connection).toContain(
        `nova:${encodeURIComponent(NASTY).replaceAll("'", "%27")}@`,
      );

      // Exactly what the broker resolves, option by option, parsed by oslo's own types.
      const { broker } = readState(stateDir);
      const answer = await httpsRequest(`${broker.url}/v1/config/nova`, {
        ca: ca(),
        token: operatorToken(stateDir),
      });
      const groups = JSON.parse(answer.text).groups as Record<
        string,
        Record<string, { value: unknown }>
      >;
      for (const { group, name } of novaSpec()) {
        expect(run.values[group]![name], `[${group}] ${name}`).toEqual(groups[group]![name]!.value);
        expect(run.locations[group]![name], `[${group}] ${name}`).toBe("user");
      }
    });

    it("the same values through the castellan source, straight from Vault with the kit's AppRole", async () => {
      const file = join(kit, "castellan-sources.conf");
      const text = readFileSync(join(kit, "oslo-sources.conf"), "utf8");
      writeFileSync(
        file,
        text.replace("config_source = strongroom\n", "config_source = strongroom_vault\n"),
      );
      const { run } = await runOsloProgram(file);
      expect(run.values.keystone_authtoken!.password).toBe(NASTY);
      expect(run.values.neutron!.metadata_proxy_shared_secret).toBeTypeOf("string");
      const { run: viaBroker } = await runOsloProgram(join(kit, "oslo-sources.conf"));
      expect(run.values).toEqual(viaBroker.values);
    });

    it("nova's certificate is refused neutron's options by the broker (403)", async () => {
      const { broker } = readState(stateDir);
      for (const path of [
        "/v1/config/neutron/database/connection",
        "/v1/config/neutron.conf",
        "/v1/config/neutron",
      ]) {
        const answer = await httpsRequest(`${broker.url}${path}`, { ca: ca(), ...novaIdentity() });
        expect(answer.status, path).toBe(403);
        expect(answer.text).not.toMatch(/mysql|password/i);
      }
      const own = await httpsRequest(`${broker.url}/v1/config/nova/database/connection`, {
        ca: ca(),
        ...novaIdentity(),
      });
      expect(own.status).toBe(200);
    });

    it("nova's AppRole is refused what nova does not use by Vault itself (castellan sees 403)", async () => {
      const foreign = [...manifest.secrets.keys()].find(
        (name) => !secretsReferencedBy(manifest, "nova").includes(name),
      )!;
      expect(foreign).toBeDefined();
      const result = await runPython(
        "test/compat/castellan_kit_check.py",
        [join(kit, "castellan.conf")],
        {
          input: JSON.stringify({
            expect: { "strongroom/overcloud/secrets/NovaPassword": NASTY },
            forbidden: [
              `strongroom/overcloud/secrets/${foreign}`,
              "strongroom/overcloud/rendered/neutron/database/connection",
              "strongroom/overcloud/manifest",
            ],
          }),
          timeoutMs: 60_000,
        },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).checks).toEqual({
        "strongroom/overcloud/secrets/NovaPassword": "ok",
        [`strongroom/overcloud/secrets/${foreign}`]: "forbidden",
        "strongroom/overcloud/rendered/neutron/database/connection": "forbidden",
        "strongroom/overcloud/manifest": "forbidden",
      });
    });

    it("refuses a request with no identity, a certificate from another CA, or a revoked token", async () => {
      const { broker, vault } = readState(stateDir);
      const url = `${broker.url}/v1/config/nova/keystone_authtoken/password`;
      expect((await httpsRequest(url, { ca: ca() })).status).toBe(401);

      const stranger = await issueClientCertificate(
        await createCertificateAuthority("not strongroom"),
        {
          kind: "service",
          service: "nova",
        },
      );
      const impostor = await httpsRequest(url, { ca: ca(), ...stranger });
      expect(impostor.status).toBe(401);
      expect(impostor.text).not.toContain(NASTY.trim());

      // AppRole tokens from the kit's credentials: one kept (control), one revoked.
      const conf = readFileSync(join(kit, "castellan.conf"), "utf8");
      // As oslo.config reads it: one pair of surrounding quotes is dropped.
      const field = (name: string) => new RegExp(`^${name} = "?([^"\n]+)"?$`, "m").exec(conf)![1]!;
      const login = async () => {
        const answer = await httpsRequest(`${vault.addr}/v1/auth/approle/login`, {
          ca: ca(),
          method: "POST",
          body: { role_id: field("approle_role_id"), secret_id: field("approle_secret_id") },
        });
        expect(answer.status).toBe(200);
        return JSON.parse(answer.text).auth.client_token as string;
      };
      const kept = await login();
      expect((await httpsRequest(url, { ca: ca(), token: kept })).status).toBe(200);
      expect(
        (await httpsRequest(`${broker.url}/v1/config/neutron.conf`, { ca: ca(), token: kept }))
          .status,
      ).toBe(403);
      const revoked = await login();
      const revoke = await httpsRequest(`${vault.addr}/v1/auth/token/revoke-self`, {
        ca: ca(),
        token: revoked,
        method: "POST",
        body: {},
      });
      expect(revoke.status).toBe(204);
      expect((await httpsRequest(url, { ca: ca(), token: revoked })).status).toBe(401);
      // A token wins over the certificate: a bad one is not rescued by a good certificate.
      expect(
        (await httpsRequest(url, { ca: ca(), token: revoked, ...novaIdentity() })).status,
      ).toBe(401);
    });

    it("oslo.config with another CA's certificate gets nothing from the broker", async () => {
      const badKit = join(root, "bad-kit");
      const stranger = await issueClientCertificate(
        await createCertificateAuthority("not strongroom"),
        {
          kind: "service",
          service: "nova",
        },
      );
      await cli(["service-kit", "nova", "--out", badKit]);
      writeFileSync(join(badKit, "client.pem"), stranger.cert);
      writeFileSync(join(badKit, "client.key"), stranger.key);
      const { run, stderr } = await runOsloProgram(join(badKit, "oslo-sources.conf"));
      // oslo logs the failed source and goes on with defaults: no secret arrives.
      expect(stderr).toMatch(/401/);
      expect(run.values.keystone_authtoken!.password).toBeNull();
    });
  },
);

import { describe, expect, it } from "vitest";
import { parseServerConfig, ServerConfigError } from "../../../src/embedded-vault/server-config.js";

const FILE = "/etc/strongroom/vault.hcl";

function errorOf(text: string): string {
  try {
    parseServerConfig(text, FILE);
  } catch (error) {
    expect(error).toBeInstanceOf(ServerConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

const PLAIN_LISTENER = `listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = true
}
`;

describe("parseServerConfig", () => {
  it("parses the temporary-Vault recipe (raft, plain listener, addresses, mlock, ui)", () => {
    const text = `
storage "raft" {
  path    = "/tmp/strongroom-vault"
  node_id = "node1"
  retry_join {
    leader_api_addr = "http://127.0.0.1:8200"
  }
  performance_multiplier = 1
}

listener "tcp" {
  address     = "127.0.0.1:18200"
  tls_disable = true
}

api_addr      = "http://127.0.0.1:18200"
cluster_addr  = "http://127.0.0.1:18201"
disable_mlock = true
ui            = false
log_level     = "info"
cluster_name  = "temp"
`;
    expect(parseServerConfig(text, FILE)).toEqual({
      listener: { address: "127.0.0.1:18200", tlsDisable: true },
      storage: { type: "raft", path: "/tmp/strongroom-vault", nodeId: "node1" },
      apiAddr: "http://127.0.0.1:18200",
      clusterAddr: "http://127.0.0.1:18201",
      disableMlock: true,
      ui: false,
    });
  });

  it("parses file storage and accepts backend as an alias of storage", () => {
    for (const key of ["storage", "backend"]) {
      const config = parseServerConfig(
        `${key} "file" { path = "/var/lib/vault" }\n${PLAIN_LISTENER}`,
        FILE,
      );
      expect(config.storage).toEqual({ type: "file", path: "/var/lib/vault" });
    }
  });

  it("parses inmem storage", () => {
    expect(parseServerConfig(`storage "inmem" {}\n${PLAIN_LISTENER}`, FILE).storage).toEqual({
      type: "inmem",
    });
  });

  it("parses the JSON form", () => {
    const text = JSON.stringify({
      storage: { file: { path: "/data" } },
      listener: [{ tcp: { address: "0.0.0.0:8200", tls_disable: "1" } }],
      ui: true,
    });
    expect(parseServerConfig(text, FILE)).toEqual({
      storage: { type: "file", path: "/data" },
      listener: { address: "0.0.0.0:8200", tlsDisable: true },
      ui: true,
    });
  });

  it("defaults the listener address", () => {
    const config = parseServerConfig(
      `storage "inmem" {}\nlistener "tcp" { tls_disable = true }`,
      FILE,
    );
    expect(config.listener.address).toBe("127.0.0.1:8200");
  });

  it.each([
    [true, true],
    [false, false],
    ['"true"', true],
    ['"false"', false],
    ['"1"', true],
    ['"0"', false],
    [1, true],
    [0, false],
  ])("reads tls_disable = %s", (value, expected) => {
    const text = `storage "inmem" {}
listener "tcp" {
  tls_disable   = ${value}
  tls_cert_file = "/tls/cert.pem"
  tls_key_file  = "/tls/key.pem"
}`;
    expect(parseServerConfig(text, FILE).listener.tlsDisable).toBe(expected);
  });

  it("enables TLS with a certificate and key", () => {
    const text = `storage "inmem" {}
listener "tcp" {
  address       = "[::1]:8200"
  tls_cert_file = "/tls/cert.pem"
  tls_key_file  = "/tls/key.pem"
}`;
    expect(parseServerConfig(text, FILE).listener).toEqual({
      address: "[::1]:8200",
      tlsDisable: false,
      tlsCertFile: "/tls/cert.pem",
      tlsKeyFile: "/tls/key.pem",
    });
  });

  it.each([
    [
      "TLS without a certificate",
      `storage "inmem" {}\nlistener "tcp" { address = "127.0.0.1:8200" }`,
      "tls_cert_file and tls_key_file are required unless tls_disable = true",
    ],
    [
      "TLS without a key",
      `storage "inmem" {}\nlistener "tcp" { tls_cert_file = "/c.pem" }`,
      "tls_cert_file and tls_key_file are required",
    ],
    [
      "a bad tls_disable",
      `storage "inmem" {}\nlistener "tcp" { tls_disable = "yes" }`,
      'tls_disable must be a boolean, got "yes"',
    ],
    [
      "an unsupported storage type",
      `storage "consul" { address = "x" }\n${PLAIN_LISTENER}`,
      `storage type "consul" is not supported by strongroom's embedded server`,
    ],
    [
      "an unsupported backend type",
      `backend "s3" {}\n${PLAIN_LISTENER}`,
      `storage type "s3" is not supported by strongroom's embedded server`,
    ],
    [
      "a unix listener",
      `storage "inmem" {}\nlistener "unix" { address = "/run/v.sock" }`,
      'listener type "unix" is not supported',
    ],
    ["missing storage", PLAIN_LISTENER, "missing storage block"],
    ["missing listener", `storage "inmem" {}`, 'missing listener "tcp" block'],
    ["an empty file", "", "missing storage block"],
    [
      "file storage without a path",
      `storage "file" {}\n${PLAIN_LISTENER}`,
      'storage "file": path is required',
    ],
    [
      "raft storage without a path",
      `storage "raft" { node_id = "n" }\n${PLAIN_LISTENER}`,
      'storage "raft": path is required',
    ],
    [
      "two storage blocks",
      `storage "inmem" {}\nbackend "inmem" {}\n${PLAIN_LISTENER}`,
      "exactly one storage block",
    ],
    [
      "two listeners",
      `storage "inmem" {}\n${PLAIN_LISTENER}${PLAIN_LISTENER}`,
      "exactly one listener block",
    ],
    [
      "an unlabelled storage block",
      `storage { path = "/x" }\n${PLAIN_LISTENER}`,
      "storage block needs a type label",
    ],
    [
      "an unknown top-level key",
      `storage "inmem" {}\n${PLAIN_LISTENER}seal "awskms" {}`,
      'unknown key "seal"',
    ],
    [
      "an unknown listener key",
      `storage "inmem" {}\nlistener "tcp" {\n tls_disable = 1\n tls_min_version = "tls13"\n}`,
      'listener "tcp": unknown key "tls_min_version"',
    ],
    [
      "an unknown file storage key",
      `storage "file" {\n path = "/x"\n mode = 1\n}\n${PLAIN_LISTENER}`,
      'storage "file": unknown key "mode"',
    ],
    [
      "a bad address",
      `storage "inmem" {}\nlistener "tcp" {\n address = "localhost"\n tls_disable = 1\n}`,
      'address must be "host:port"',
    ],
    [
      "a port out of range",
      `storage "inmem" {}\nlistener "tcp" {\n address = "h:70000"\n tls_disable = 1\n}`,
      'address must be "host:port"',
    ],
    [
      "a non-string api_addr",
      `storage "inmem" {}\n${PLAIN_LISTENER}api_addr = 8200`,
      "api_addr must be a string",
    ],
    [
      "a non-boolean ui",
      `storage "inmem" {}\n${PLAIN_LISTENER}ui = "maybe"`,
      "ui must be a boolean",
    ],
    [
      "a syntax error",
      `storage "inmem" {}\nlistener "tcp" {\n address = "unterminated\n}`,
      "syntax error at line 3, column",
    ],
    ["a bare word", `storage "inmem" {}\nnonsense`, "syntax error at line 2"],
  ])("rejects %s, naming the file", (_what, text, message) => {
    const error = errorOf(text);
    expect(error.startsWith(`${FILE}: `)).toBe(true);
    expect(error).toContain(message);
  });
});

import { readFileSync } from "node:fs";
import { Command, Option } from "@commander-js/extra-typings";
import type { StorageConfig } from "../../embedded-vault/embedded-vault.js";
import { configError, usageError } from "../../lib/errors.js";
import { VAULT_SERVER_LISTENING } from "../../vault/server-process.js";
import type { CliContext } from "../context.js";
import { isLoopback, parseListenAddress } from "../listen-address.js";

interface ServerPlan {
  storage: StorageConfig;
  host: string;
  port: number;
  tls?: { cert: Buffer; key: Buffer };
  dev: boolean;
}

export function vaultServerCommand(context: CliContext) {
  return (
    new Command("vault-server")
      .summary("Run the embedded Vault-compatible server")
      .description(
        "Run strongroom's embedded Vault-compatible server (the Vault HTTP API: sys/, KV v1/v2,\n" +
          "tokens, AppRole, ACL policies, audit). Stays in the foreground; SIGTERM seals and stops it.",
      )
      .option(
        "--dev",
        "in-memory, initialized and unsealed at start, KV v2 at secret/ (like `vault server -dev`)",
      )
      .option("--storage <dir>", "persistent storage directory; starts uninitialized and sealed")
      .option(
        "--config <file>",
        'Vault-style HCL server config (listener "tcp", storage "file"|"raft"|"inmem")',
      )
      .option("--listen <addr>", "address to listen on", "127.0.0.1:8200")
      .option(
        "--dev-root-token <id>",
        "root token id in dev mode (prefer the VAULT_DEV_ROOT_TOKEN_ID environment variable: arguments are visible to other users)",
      )
      .option("--tls-cert <file>", "PEM certificate for HTTPS")
      .option("--tls-key <file>", "PEM private key for HTTPS")
      .option(
        "--tls-disable",
        "allow plain HTTP on a non-loopback address (plain HTTP is always allowed on loopback)",
      )
      // `strongroom up` starts its embedded Vault with this: when up dies, stdin closes.
      .addOption(new Option("--lifeline", "seal and exit when stdin closes").hideHelp())
      .addHelpText(
        "after",
        "\nExamples:\n" +
          "  strongroom vault-server --dev --listen 127.0.0.1:8200\n" +
          "  strongroom vault-server --storage /var/lib/strongroom/vault --tls-cert c.pem --tls-key k.pem\n" +
          "  strongroom vault-server --config /etc/strongroom/vault.hcl\n",
      )
      .action(async (options) => {
        const plan = await planServer(options);
        // Loaded here: the other commands start without the embedded server's code.
        const { EmbeddedVault } = await import("../../embedded-vault/embedded-vault.js");
        const { startVaultHttpServer } = await import("../../embedded-vault/http/http-server.js");
        const { loadSodium } = await import("../../lib/sodium.js");
        await loadSodium();
        const vault = await EmbeddedVault.open({ storage: plan.storage });
        const server = await startVaultHttpServer({
          host: plan.host,
          port: plan.port,
          core: vault.core,
          tls: plan.tls,
        });
        if (plan.dev) {
          const dev = await vault.startDev(options.devRootToken ?? context.env.vaultDevRootToken);
          process.stderr.write(
            "WARNING: dev mode: in-memory storage, already unsealed, for tests and demos only.\n" +
              `Unseal Key: ${dev.unsealKey}\nRoot Token: ${dev.rootToken}\n`,
          );
        }
        process.stderr.write(
          `${VAULT_SERVER_LISTENING}${server.address} (storage: ${vault.storageType}` +
            `${plan.dev ? ", dev mode" : ", sealed until unsealed"})\n`,
        );
        await waitForShutdown(async () => {
          vault.seal();
          await server.close();
          await vault.close();
        }, options.lifeline === true);
      })
  );
}

async function planServer(options: {
  dev?: boolean;
  storage?: string;
  config?: string;
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsDisable?: boolean;
}): Promise<ServerPlan> {
  const modes = [options.dev, options.storage, options.config].filter(Boolean).length;
  if (modes !== 1) throw usageError("choose exactly one of --dev, --storage DIR or --config FILE");
  if (options.config) return planFromConfig(options.config);

  const { host, port } = parseListenAddress(options.listen);
  if (Boolean(options.tlsCert) !== Boolean(options.tlsKey)) {
    throw usageError("--tls-cert and --tls-key go together");
  }
  const tls =
    options.tlsCert && options.tlsKey ? readTls(options.tlsCert, options.tlsKey) : undefined;
  if (!tls && !isLoopback(host) && !options.tlsDisable) {
    throw usageError(`refusing plain HTTP on ${host}: give --tls-cert/--tls-key, or --tls-disable`);
  }
  const storage: StorageConfig = options.dev
    ? { type: "inmem" }
    : { type: "file", path: options.storage! };
  return { storage, host, port, tls, dev: options.dev === true };
}

async function planFromConfig(file: string): Promise<ServerPlan> {
  const { ServerConfigError, parseServerConfig } = await import(
    "../../embedded-vault/server-config.js"
  );
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw configError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
  try {
    const config = parseServerConfig(text, file);
    const { host, port } = parseListenAddress(config.listener.address);
    const tls =
      config.listener.tlsDisable || !config.listener.tlsCertFile || !config.listener.tlsKeyFile
        ? undefined
        : readTls(config.listener.tlsCertFile, config.listener.tlsKeyFile);
    const storage: StorageConfig =
      config.storage.type === "inmem"
        ? { type: "inmem" }
        : { type: config.storage.type, path: config.storage.path! };
    return { storage, host, port, tls, dev: false };
  } catch (error) {
    if (error instanceof ServerConfigError) throw configError(error.message);
    throw error;
  }
}

function readTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  } catch (error) {
    throw configError(`cannot read TLS files: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

async function waitForShutdown(stop: () => Promise<void>, lifeline: boolean): Promise<void> {
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) return;
      stopping = true;
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      // A watched stdin would keep the process alive after the server closed.
      if (lifeline) process.stdin.destroy();
      stop().then(resolve, (error) => {
        process.stderr.write(`strongroom: shutdown: ${(error as Error).message}\n`);
        resolve();
      });
    };
    process.on("SIGTERM", onSignal);
    // Under `up`, Ctrl-C reaches the whole process group: up itself seals and stops us.
    process.on("SIGINT", lifeline ? () => {} : onSignal);
    if (lifeline) {
      process.stdin.on("end", onSignal).on("error", onSignal).resume();
    }
  });
}

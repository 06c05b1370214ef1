/**
 * The embedded Vault in this process, in memory, initialized and unsealed as `vault-server
 * --dev` is, serving the real HTTP API on a free loopback port. Its log lines are collected
 * instead of printed.
 */
import { EmbeddedVault } from "../../src/embedded-vault/embedded-vault.js";
import { startVaultHttpServer } from "../../src/embedded-vault/http/http-server.js";
import type { ConnectionLimits } from "../../src/lib/connection-limits.js";

export interface InProcessVault {
  /** `http://127.0.0.1:PORT` */
  addr: string;
  rootToken: string;
  /** What the server logged so far ("internal error: ..." lines among them). */
  log: string[];
  close(): Promise<void>;
}

export async function startInProcessVault(
  limits?: Partial<ConnectionLimits>,
): Promise<InProcessVault> {
  const log: string[] = [];
  const vault = await EmbeddedVault.open({
    storage: { type: "inmem" },
    log: (line) => log.push(line),
  });
  const { rootToken } = await vault.startDev();
  const server = await startVaultHttpServer({
    host: "127.0.0.1",
    port: 0,
    core: vault.core,
    ...(limits && { limits }),
  });
  return {
    addr: server.address,
    rootToken,
    log,
    close: async () => {
      await server.close();
      await vault.close();
    },
  };
}

/**
 * What strongroom stored, read straight from its Vault with the operator token: a KV v2 entry
 * under a deployment (`strongroom/<deployment>/<path>`), and a secret's value (decoded from its
 * Castellan record) with its version. Values stay in memory: compare them, never print them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { httpsRequest, operatorToken, readState } from "./strongroom-up.js";

export interface StoredEntry {
  data: Record<string, unknown>;
  metadata: { version: number };
}

export async function vaultRead(
  stateDir: string,
  deployment: string,
  path: string,
  version?: number,
): Promise<StoredEntry> {
  const state = readState(stateDir);
  const query = version === undefined ? "" : `?version=${version}`;
  const answer = await httpsRequest(
    `${state.vault.addr}/v1/${state.vault.kvMount}/data/strongroom/${deployment}/${path}${query}`,
    { ca: readFileSync(join(stateDir, "ca.pem")), token: operatorToken(stateDir) },
  );
  expect(answer.status, `read of ${path}`).toBe(200);
  return JSON.parse(answer.text).data as StoredEntry;
}

export async function storedSecret(
  stateDir: string,
  deployment: string,
  name: string,
  version?: number,
): Promise<{ value: string; version: number }> {
  const { data, metadata } = await vaultRead(stateDir, deployment, `secrets/${name}`, version);
  return {
    value: Buffer.from(String(data["value"]), "hex").toString("utf8"),
    version: metadata.version,
  };
}

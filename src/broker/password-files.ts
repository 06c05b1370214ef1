/**
 * Deployers' passwords files from the store (seed/password-files.ts renders them): the values of
 * one deployment, read for one request and never cached or logged.
 */
import type { KeyManager, SecretValue } from "../../drivers/types.js";
import { mapLimit } from "../lib/concurrency.js";
import { ERRORS } from "../lib/errors.js";
import {
  diffOspSecret,
  mergeKollaPasswords,
  type PasswordFileFormat,
  type RenderedPasswords,
  renderPasswordFile,
  type SecretDiff,
} from "../seed/password-files.js";

export interface PasswordFiles {
  render(
    format: PasswordFileFormat,
    deployment?: string,
  ): Promise<RenderedPasswords & { deployment: string }>;
  /** An existing kolla passwords.yml with the store's values, its comments and order kept. */
  mergeKolla(
    text: string,
    file: string,
    deployment?: string,
  ): Promise<RenderedPasswords & { deployment: string }>;
  /** Names only: which keys of an existing osp-secret differ from the store's. */
  diffOspSecret(
    text: string,
    file: string,
    deployment?: string,
  ): Promise<SecretDiff & { deployment: string }>;
}

export interface PasswordFilesDeps {
  /** The broker's own deployment: the default. */
  deployment: string;
  /** The key manager of a deployment (the broker's own, or another one in the same Vault). */
  keyManagerFor(deployment: string): Promise<KeyManager>;
}

const READ_CONCURRENCY = 64;

export function createPasswordFiles(deps: PasswordFilesDeps): PasswordFiles {
  const valuesOf = async (requested: string | undefined) => {
    const deployment = requested ?? deps.deployment;
    const keyManager = await deps.keyManagerFor(deployment);
    const names = await keyManager.list();
    if (names.length === 0 && deployment !== deps.deployment) {
      throw ERRORS.STRONGROOM_ERR_UNKNOWN_DEPLOYMENT(
        `no deployment "${deployment}" in this broker's Vault`,
      );
    }
    const values = new Map<string, SecretValue>();
    try {
      await mapLimit(names, READ_CONCURRENCY, async (name) => {
        const stored = await keyManager.get(name);
        if (stored) values.set(name, stored.value);
      });
    } finally {
      if (deployment !== deps.deployment) await keyManager.close?.();
    }
    return { deployment, values };
  };
  return {
    async render(format, requested) {
      const { deployment, values } = await valuesOf(requested);
      return { deployment, ...renderPasswordFile(format, values) };
    },
    async mergeKolla(text, file, requested) {
      const { deployment, values } = await valuesOf(requested);
      return { deployment, ...mergeKollaPasswords(text, file, values) };
    },
    async diffOspSecret(text, file, requested) {
      const { deployment, values } = await valuesOf(requested);
      return { deployment, ...diffOspSecret(text, file, values) };
    },
  };
}

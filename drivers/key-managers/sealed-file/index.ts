/**
 * The `sealed-file` key-manager driver. Config: `file`, and either `keyFile` (32 bytes, 0600)
 * or `passphraseEnv` (the name of an environment variable holding the passphrase). A
 * passphrase written into the config itself is refused: configs are files people commit.
 */
import { configError } from "../../../src/lib/errors.js";
import type { KeyManagerDriver } from "../../types.js";
import { createSealedFileKeyManager } from "./sealed-file-key-manager.js";

export {
  createSealedFileKeyManager,
  type SealedFileOptions,
  writeSealedFileKey,
} from "./sealed-file-key-manager.js";

export const driver: KeyManagerDriver = {
  kind: "key-manager",
  name: "sealed-file",
  async create(config, context) {
    const { file, keyFile, passphrase, passphraseEnv } = config;
    if (typeof file !== "string") throw configError("sealed-file key manager: `file` is required");
    if (typeof keyFile === "string") {
      return createSealedFileKeyManager({ file, keyFile, deployment: context.deployment });
    }
    if (passphrase !== undefined) {
      throw configError(
        "sealed-file key manager: a passphrase does not belong in a config file; name an environment variable with `passphraseEnv` or use `keyFile`",
      );
    }
    if (typeof passphraseEnv !== "string") {
      throw configError("sealed-file key manager: give `keyFile` or `passphraseEnv`");
    }
    const secret = process.env[passphraseEnv];
    if (!secret) {
      throw configError(
        `sealed-file key manager: the environment variable ${passphraseEnv} is not set`,
      );
    }
    return createSealedFileKeyManager({ file, passphrase: secret, deployment: context.deployment });
  },
};

/**
 * The `sealed-file` key-manager driver. Config: `file`, and either `keyFile` (32 bytes, 0600)
 * or `passphrase` / `passphraseEnv` (the name of an environment variable holding it).
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
    const secret =
      typeof passphrase === "string"
        ? passphrase
        : typeof passphraseEnv === "string"
          ? process.env[passphraseEnv]
          : undefined;
    if (secret === undefined || secret === "") {
      throw configError("sealed-file key manager: give `keyFile`, `passphrase` or `passphraseEnv`");
    }
    return createSealedFileKeyManager({ file, passphrase: secret, deployment: context.deployment });
  },
};

import { StrongroomError } from "../lib/errors.js";

/** What went wrong with a bundle or a bundle key; each kind has its own stable code. */
export const BUNDLE_ERROR_CODES = {
  corrupt: "STRONGROOM_ERR_BUNDLE_CORRUPT",
  truncated: "STRONGROOM_ERR_BUNDLE_TRUNCATED",
  signature: "STRONGROOM_ERR_BUNDLE_SIGNATURE",
  notRecipient: "STRONGROOM_ERR_BUNDLE_NOT_RECIPIENT",
  version: "STRONGROOM_ERR_BUNDLE_VERSION",
  io: "STRONGROOM_ERR_BUNDLE_IO",
  input: "STRONGROOM_ERR_BUNDLE_INPUT",
  key: "STRONGROOM_ERR_KEY",
} as const;

export type BundleErrorKind = keyof typeof BUNDLE_ERROR_CODES;

/**
 * A bundle that cannot be trusted or read, or a key file that cannot be used. The message is one
 * line naming the file and the reason; it never carries key bytes or record contents.
 */
export class BundleError extends StrongroomError {
  readonly kind: BundleErrorKind;

  constructor(kind: BundleErrorKind, message: string, options: { cause?: unknown } = {}) {
    super(BUNDLE_ERROR_CODES[kind], message, { statusCode: 400, exitCode: 1, ...options });
    this.name = "BundleError";
    this.kind = kind;
  }
}

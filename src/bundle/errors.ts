import { ERRORS, StrongroomError } from "../lib/errors.js";

/** What went wrong with a bundle or a bundle key; each kind has its own stable code. */
export const BUNDLE_ERROR_CODES = {
  corrupt: ERRORS.STRONGROOM_ERR_BUNDLE_CORRUPT.code,
  truncated: ERRORS.STRONGROOM_ERR_BUNDLE_TRUNCATED.code,
  signature: ERRORS.STRONGROOM_ERR_BUNDLE_SIGNATURE.code,
  notRecipient: ERRORS.STRONGROOM_ERR_BUNDLE_NOT_RECIPIENT.code,
  version: ERRORS.STRONGROOM_ERR_BUNDLE_VERSION.code,
  io: ERRORS.STRONGROOM_ERR_BUNDLE_IO.code,
  input: ERRORS.STRONGROOM_ERR_BUNDLE_INPUT.code,
  key: ERRORS.STRONGROOM_ERR_KEY.code,
} as const;

export type BundleErrorKind = keyof typeof BUNDLE_ERROR_CODES;

/**
 * A bundle that cannot be trusted or read, or a key file that cannot be used. The message is one
 * line naming the file and the reason; it never carries key bytes or record contents.
 */
export class BundleError extends StrongroomError {
  readonly kind: BundleErrorKind;

  constructor(kind: BundleErrorKind, message: string, options: ErrorOptions = {}) {
    super(BUNDLE_ERROR_CODES[kind], message, options);
    this.name = "BundleError";
    this.kind = kind;
  }
}

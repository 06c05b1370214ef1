/**
 * strongroom's error catalogue, in the style of fastify's lib/errors.js: every error a user can
 * meet carries a stable STRONGROOM_ERR_* code (a public contract, listed in docs/errors.md),
 * and the code alone decides the broker's HTTP status and the CLI's exit code. Messages never
 * contain a secret value.
 *
 *   throw ERRORS.STRONGROOM_ERR_STATE(`${path} is not a directory`);
 *   if (ERRORS.STRONGROOM_ERR_CAS_MISMATCH.is(error)) ...
 *
 * A code that is not in the catalogue does not compile. Nothing outside this file spells a code
 * as a string (test/unit/docs/error-codes.test.ts checks it, and the docs against the catalogue).
 */

export type ExitCode = 1 | 2;

export interface ErrorSpec {
  /** The broker's HTTP status for it. */
  readonly status: number;
  /** The CLI's exit code: 2 for usage-type errors (what was asked for is wrong), else 1. */
  readonly exit: ExitCode;
  /** For a 5xx: the message is fixed and safe to show; any other 5xx answers "internal error". */
  readonly public5xx?: true;
  /** One line for docs/errors.md. */
  readonly meaning: string;
}

export const ERROR_CATALOGUE = {
  // The HTTP layer (docs/http-api.md). Relayed by the CLI, a 400 or 404 exits 2.
  STRONGROOM_ERR_VALIDATION: {
    status: 400,
    exit: 2,
    meaning: "a parameter, header or body field does not match the schema",
  },
  STRONGROOM_ERR_BAD_REQUEST: {
    status: 400,
    exit: 2,
    meaning: "the request is malformed (e.g. the body is not JSON)",
  },
  STRONGROOM_ERR_UNAUTHENTICATED: {
    status: 401,
    exit: 1,
    meaning: "no credential, or one that identifies nobody",
  },
  STRONGROOM_ERR_FORBIDDEN: {
    status: 403,
    exit: 1,
    meaning: "the principal may not use this route",
  },
  STRONGROOM_ERR_NOT_FOUND: { status: 404, exit: 2, meaning: "unknown route, service or option" },
  STRONGROOM_ERR_REQUEST_TIMEOUT: {
    status: 408,
    exit: 1,
    meaning: "the request's headers or body came too slowly",
  },
  STRONGROOM_ERR_BODY_TOO_LARGE: {
    status: 413,
    exit: 1,
    meaning: "the body exceeds the route's limit",
  },
  STRONGROOM_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    exit: 1,
    meaning: "a body that is not `application/json`",
  },
  STRONGROOM_ERR_RATE_LIMITED: {
    status: 429,
    exit: 1,
    meaning: "a rate limit was hit; see `Retry-After`",
  },
  STRONGROOM_ERR_HEADERS_TOO_LARGE: {
    status: 431,
    exit: 1,
    meaning: "the request line and headers exceed the server's limit",
  },
  STRONGROOM_ERR_INTERNAL: {
    status: 500,
    exit: 1,
    meaning: "an unexpected failure (details in the log)",
  },
  STRONGROOM_ERR_NOT_READY: {
    status: 503,
    exit: 1,
    public5xx: true,
    meaning: "`/readyz` before the broker is ready",
  },
  STRONGROOM_ERR_UNAVAILABLE: {
    status: 503,
    exit: 1,
    public5xx: true,
    meaning: "load shedding; see `Retry-After`",
  },

  // Configuration, state and the CLI.
  STRONGROOM_ERR_USAGE: { status: 400, exit: 2, meaning: "bad command-line or request use" },
  STRONGROOM_ERR_CONFIG: {
    status: 400,
    exit: 1,
    meaning: "a bad manifest, flag or configuration file (file, line and reason)",
  },
  STRONGROOM_ERR_DRIVER: {
    status: 400,
    exit: 2,
    meaning: "an unknown driver name, or a third-party driver module that cannot be used",
  },
  STRONGROOM_ERR_STATE: {
    status: 500,
    exit: 1,
    meaning: "the state directory cannot be used as it is (permissions, a half-finished bootstrap)",
  },
  STRONGROOM_ERR_NO_STATE: {
    status: 500,
    exit: 1,
    meaning: "no state directory where one was expected: run `strongroom up` first",
  },
  STRONGROOM_ERR_STATE_NOT_EMPTY: {
    status: 500,
    exit: 1,
    meaning: "a target state directory already holds something",
  },
  STRONGROOM_ERR_ALREADY_RUNNING: {
    status: 500,
    exit: 1,
    meaning: "another `strongroom up` runs on this state directory",
  },
  STRONGROOM_ERR_BROKER: {
    status: 500,
    exit: 1,
    meaning: "the broker answered with an error that has no code this CLI knows",
  },
  STRONGROOM_ERR_BROKER_DOWN: {
    status: 500,
    exit: 1,
    meaning: "the broker of the state directory cannot be reached",
  },
  STRONGROOM_ERR_UNKNOWN_SERVICE: {
    status: 404,
    exit: 2,
    meaning: "no such service in the manifest",
  },
  STRONGROOM_ERR_UNKNOWN_OPTION: { status: 404, exit: 2, meaning: "no such option of the service" },
  STRONGROOM_ERR_UNKNOWN_DEPLOYMENT: {
    status: 404,
    exit: 2,
    meaning: "no such deployment in the store",
  },
  STRONGROOM_ERR_OPTION_TYPE: {
    status: 422,
    exit: 1,
    meaning: "a value does not parse as its oslo.config type",
  },
  STRONGROOM_ERR_VALUE_UNDELIVERABLE: {
    status: 422,
    exit: 1,
    meaning: "a value cannot be delivered in an oslo INI file",
  },
  STRONGROOM_ERR_INI_SYNTAX: {
    status: 400,
    exit: 1,
    meaning: "an INI input or override file does not parse (file and line)",
  },

  // Secrets and seeding.
  STRONGROOM_ERR_SEED_INPUT: {
    status: 400,
    exit: 1,
    meaning: "a seed input does not parse (file, line and reason; no value quoted)",
  },
  STRONGROOM_ERR_SEED_ROLLBACK: {
    status: 500,
    exit: 1,
    meaning: "a seed failed and its rollback failed too: the names left behind are listed",
  },
  STRONGROOM_ERR_CAS_MISMATCH: {
    status: 409,
    exit: 1,
    meaning: "a secret or a shared counter changed concurrently (check-and-set failed)",
  },

  // Vault.
  STRONGROOM_ERR_VAULT: {
    status: 502,
    exit: 1,
    meaning: "a Vault request failed (path and status, never data)",
  },
  STRONGROOM_ERR_VAULT_FORBIDDEN: { status: 403, exit: 1, meaning: "Vault refused the token" },
  STRONGROOM_ERR_VAULT_SEALED: { status: 500, exit: 1, meaning: "the Vault is sealed" },
  STRONGROOM_ERR_VAULT_START: {
    status: 500,
    exit: 1,
    meaning: "the embedded server or the binary did not start",
  },
  STRONGROOM_ERR_VAULT_TIMEOUT: {
    status: 500,
    exit: 1,
    meaning: "the Vault did not become healthy in time",
  },
  STRONGROOM_ERR_VAULT_ADDR: {
    status: 500,
    exit: 1,
    meaning: "`--vault external` without `VAULT_ADDR`, or an unusable address",
  },
  STRONGROOM_ERR_VAULT_BIN: { status: 500, exit: 1, meaning: "no usable `vault`/`bao` binary" },
  STRONGROOM_ERR_VAULT_TOKEN: {
    status: 500,
    exit: 1,
    meaning: "no usable token (`VAULT_TOKEN` for `--vault external`, or no operator token created)",
  },
  STRONGROOM_ERR_VAULT_MOUNT: {
    status: 500,
    exit: 1,
    meaning: "the KV mount is missing or not KV v2",
  },
  STRONGROOM_ERR_VAULT_OWNER: {
    status: 500,
    exit: 1,
    meaning: "a Vault AppRole role or policy strongroom would write belongs to another deployment",
  },
  STRONGROOM_ERR_KOLLA_VAULT: {
    status: 500,
    exit: 1,
    meaning: "kolla's Vault copy cannot be kept: no KV v2 mount, no operator access, write failed",
  },

  // Rotation.
  STRONGROOM_ERR_UNKNOWN_SECRET: {
    status: 404,
    exit: 2,
    meaning: "no such secret in the manifest",
  },
  STRONGROOM_ERR_UNKNOWN_ROTATION: { status: 404, exit: 2, meaning: "no such rotation id" },
  STRONGROOM_ERR_ROTATION_REFUSED: {
    status: 409,
    exit: 1,
    meaning: "the secret may not rotate (do-not-rotate list, no generator, not seeded)",
  },
  STRONGROOM_ERR_ROTATION_LOCKED: {
    status: 409,
    exit: 1,
    meaning: "another broker holds the secret's rotation lock",
  },
  STRONGROOM_ERR_ROTATION_UNFINISHED: {
    status: 409,
    exit: 1,
    meaning: "an unfinished rotation of the secret must be resumed first",
  },
  STRONGROOM_ERR_ROTATION_FINISHED: {
    status: 409,
    exit: 1,
    meaning: "resuming a rotation that is already done or rolled back",
  },
  STRONGROOM_ERR_ROTATION_COMMITTED: {
    status: 409,
    exit: 1,
    meaning: "aborting a rotation that committed its new value: it can only go forward (--resume)",
  },
  STRONGROOM_ERR_ROTATION_RUNNING: {
    status: 409,
    exit: 1,
    meaning: "aborting a rotation this broker is running now",
  },
  STRONGROOM_ERR_ROTATION_CONFLICT: {
    status: 409,
    exit: 1,
    meaning: "the rotation's record or lock changed under this broker",
  },
  STRONGROOM_ERR_ROTATION: {
    status: 409,
    exit: 1,
    meaning: "a rotation step failed (the rotation's `error` says which and why)",
  },
  STRONGROOM_ERR_TARGET: {
    status: 502,
    exit: 1,
    meaning: "a MariaDB, RabbitMQ or command target refused or failed a step",
  },
  STRONGROOM_ERR_RESTART: {
    status: 500,
    exit: 1,
    meaning: "a consumer's restart command failed or timed out",
  },
  STRONGROOM_ERR_HEALTH: { status: 500, exit: 1, meaning: "a health check could not run at all" },
  STRONGROOM_ERR_SINK: {
    status: 502,
    exit: 1,
    meaning: "a secret sink (a Kubernetes Secret) could not be written",
  },

  STRONGROOM_ERR_AUDIT_CHAIN: {
    status: 500,
    exit: 1,
    meaning: "the audit log's chain is broken: a line was edited, removed or inserted",
  },
  // Bundles, export and import.
  STRONGROOM_ERR_KEY: {
    status: 400,
    exit: 1,
    meaning:
      "a key file is missing, of the wrong type (`.key` for `.pub`), malformed or readable by others",
  },
  STRONGROOM_ERR_BUNDLE_CORRUPT: {
    status: 400,
    exit: 1,
    meaning: "a bundle chunk or header failed its authentication check",
  },
  STRONGROOM_ERR_BUNDLE_TRUNCATED: {
    status: 400,
    exit: 1,
    meaning: "the bundle ends before its final chunk",
  },
  STRONGROOM_ERR_BUNDLE_SIGNATURE: {
    status: 400,
    exit: 1,
    meaning: "the signature is missing, invalid or from a signer not given with `--trust`",
  },
  STRONGROOM_ERR_BUNDLE_NOT_RECIPIENT: {
    status: 400,
    exit: 1,
    meaning: "the bundle is not sealed to this key",
  },
  STRONGROOM_ERR_BUNDLE_VERSION: {
    status: 400,
    exit: 1,
    meaning: "an unknown bundle format version",
  },
  STRONGROOM_ERR_BUNDLE_CONTENT: {
    status: 500,
    exit: 1,
    meaning: "the decrypted records are not a valid export (order, counts, names)",
  },
  STRONGROOM_ERR_BUNDLE_INPUT: { status: 400, exit: 1, meaning: "bad input to the bundle writer" },
  STRONGROOM_ERR_BUNDLE_IO: {
    status: 400,
    exit: 1,
    meaning: "a bundle file cannot be read or written",
  },
  STRONGROOM_ERR_EXPORT_FILE: {
    status: 500,
    exit: 1,
    meaning: "the export's output file cannot be written",
  },
  STRONGROOM_ERR_EXPORT_INCOMPLETE: {
    status: 500,
    exit: 1,
    meaning: "the export stream ended without its summary: the partial file was removed",
  },
  STRONGROOM_ERR_EXPORT_CHANGED: {
    status: 409,
    exit: 1,
    meaning: "the store changed while it was being exported",
  },
  STRONGROOM_ERR_IMPORT_TARGET: {
    status: 500,
    exit: 1,
    meaning: "the import target (state directory or Vault) cannot be used",
  },
  STRONGROOM_ERR_IMPORT_VERSION: {
    status: 500,
    exit: 1,
    meaning: "a secret's versions could not be recreated with the same numbers",
  },
  STRONGROOM_ERR_BUNDLE_NOT_NEWER: {
    status: 409,
    exit: 1,
    meaning: "the bundle is not newer than the last one imported from its signer (`--allow-older`)",
  },
  STRONGROOM_ERR_TRUST_STATE: {
    status: 500,
    exit: 1,
    meaning: "the import trust state (`--trust-state`) cannot be read or written, or is invalid",
  },
  // Service kits.
  STRONGROOM_ERR_KIT_REVOKED: {
    status: 403,
    exit: 1,
    meaning: "the client certificate belongs to a revoked service kit (`strongroom kits revoke`)",
  },
  STRONGROOM_ERR_UNKNOWN_KIT: {
    status: 404,
    exit: 2,
    meaning: "no kit of the service has that serial or secret-id accessor",
  },
  // Passwords files (`strongroom passwords`).
  STRONGROOM_ERR_PASSWORDS_INPUT: {
    status: 400,
    exit: 1,
    meaning:
      "a file given to `passwords --merge-into` or `--diff` does not parse (file, line and reason; no value quoted)",
  },
  STRONGROOM_ERR_PASSWORDS_FILE: {
    status: 500,
    exit: 1,
    meaning: "the passwords file (`--out`) cannot be written",
  },
} as const satisfies Record<`STRONGROOM_ERR_${string}`, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const isErrorCode = (code: string): code is ErrorCode =>
  Object.hasOwn(ERROR_CATALOGUE, code);

/** The one error type: every strongroom error is one, or a subclass carrying more data. */
export class StrongroomError extends Error {
  readonly code: ErrorCode;
  /** From the catalogue: the broker's HTTP status. */
  readonly statusCode: number;
  /** From the catalogue: the CLI's exit code, 1 for failures, 2 for usage errors. */
  readonly exitCode: ExitCode;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "StrongroomError";
    this.code = code;
    const spec: ErrorSpec = ERROR_CATALOGUE[code];
    this.statusCode = spec.status;
    this.exitCode = spec.exit;
  }
}

/** Makes the code's error; also names the code and tells its errors apart. */
export interface ErrorFactory<C extends ErrorCode = ErrorCode> {
  (message: string, options?: ErrorOptions): StrongroomError;
  readonly code: C;
  readonly statusCode: number;
  readonly exitCode: ExitCode;
  /** Whether `error` is a StrongroomError with this code. */
  is(error: unknown): error is StrongroomError;
}

function factory<C extends ErrorCode>(code: C): ErrorFactory<C> {
  const spec: ErrorSpec = ERROR_CATALOGUE[code];
  const make = (message: string, options?: ErrorOptions) =>
    new StrongroomError(code, message, options);
  return Object.assign(make, {
    code,
    statusCode: spec.status,
    exitCode: spec.exit,
    is: (error: unknown): error is StrongroomError =>
      error instanceof StrongroomError && error.code === code,
  });
}

/** One factory per code: `ERRORS.STRONGROOM_ERR_X(message, { cause })`. */
export const ERRORS = Object.fromEntries(
  Object.keys(ERROR_CATALOGUE).map((code) => [code, factory(code as ErrorCode)]),
) as { readonly [C in ErrorCode]: ErrorFactory<C> };

/**
 * An error answer of the broker (`{error: {code, message}}`) as the CLI reports it: the code and
 * message as sent (STRONGROOM_ERR_BROKER when there is no code this CLI knows), the answer's
 * status, and exit 2 when that status says the request was wrong (400, 404). The one error whose
 * status and exit code are not the catalogue's: they are the broker's answer.
 */
export class BrokerAnswerError extends StrongroomError {
  override readonly statusCode: number;
  override readonly exitCode: ExitCode;

  constructor(status: number, code: string | undefined, message: string) {
    const known = code !== undefined && isErrorCode(code);
    super(
      known ? code : "STRONGROOM_ERR_BROKER",
      known || !code ? message : `${message} (${code})`,
    );
    this.name = "BrokerAnswerError";
    this.statusCode = status;
    this.exitCode = status === 400 || status === 404 ? 2 : 1;
  }
}

export const usageError = (message: string) => ERRORS.STRONGROOM_ERR_USAGE(message);

export const configError = (message: string, cause?: unknown) =>
  ERRORS.STRONGROOM_ERR_CONFIG(message, { cause });

export const internalError = (message: string, cause?: unknown) =>
  ERRORS.STRONGROOM_ERR_INTERNAL(message, { cause });

export const isStrongroomError = (error: unknown): error is StrongroomError =>
  error instanceof StrongroomError;

/** An error answered the way Vault answers it: a status and `{"errors": [...]}`. */
export class VaultError extends Error {
  readonly status: number;
  readonly errors: string[];
  /** For 404s of deleted KV versions, Vault answers with a full envelope instead. */
  readonly envelopeData?: Record<string, unknown>;

  constructor(status: number, errors: string[], envelopeData?: Record<string, unknown>) {
    super(errors[0] ?? `status ${status}`);
    this.name = "VaultError";
    this.status = status;
    this.errors = errors;
    this.envelopeData = envelopeData;
  }
}

export const badRequest = (message: string) => new VaultError(400, [message]);
export const notFound = () => new VaultError(404, []);
export const permissionDenied = () => new VaultError(403, ["permission denied"]);
export const sealedError = () => new VaultError(503, ["Vault is sealed"]);
export const unsupportedOperation = () => new VaultError(405, ["unsupported operation"]);
export const unsupportedPath = (path: string) =>
  new VaultError(404, [`no handler for route "${path}". route entry not found.`]);

import { unsupportedOperation } from "../../errors.js";
import type { LogicalRequest, LogicalResponse } from "../../types.js";
import { isWrite } from "../token-backend.js";
import { accessorKey, exactUnix, type SecretIdEntry } from "./approle-store.js";

/** tidy/secret-id: removes the expired secret IDs of every role. */
export function tidySecretIds(req: LogicalRequest): LogicalResponse {
  if (!isWrite(req)) throw unsupportedOperation();
  const now = exactUnix(req);
  for (const key of req.storage.listRecursive("secret_id/")) {
    const entry = req.storage.getJSON<SecretIdEntry>(key);
    if (entry && entry.expiration_time !== 0 && now > entry.expiration_time) {
      req.storage.delete(accessorKey(entry.secret_id_accessor));
      req.storage.delete(key);
    }
  }
  return {};
}

import { randomUUID } from "node:crypto";
import type { LogicalResponse } from "./types.js";

export interface HttpAnswer {
  status: number;
  /** Serialized as JSON; undefined sends no body (204, HEAD). */
  body?: unknown;
}

/** Vault's logical response envelope (sdk/logical/translate_response.go). */
export function envelope(
  response: LogicalResponse,
  options: { requestId?: string; mountType?: string; injectSysData?: boolean } = {},
): Record<string, unknown> {
  const data = response.data ?? null;
  const body: Record<string, unknown> = {
    request_id: options.requestId ?? randomUUID(),
    lease_id: "",
    renewable: false,
    lease_duration: response.leaseDuration ?? 0,
    data,
    wrap_info: null,
    warnings: response.warnings && response.warnings.length > 0 ? response.warnings : null,
    auth: response.auth ?? null,
    mount_type: options.mountType ?? "",
  };
  // Vault copies sys/ response data to the top level for backwards compatibility. Defined,
  // not assigned: a key named "__proto__" (a requested capabilities path) stays a key.
  if (options.injectSysData && data) {
    for (const [key, value] of Object.entries(data)) {
      if (!Object.hasOwn(body, key)) {
        Object.defineProperty(body, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
  }
  return body;
}

export function errorBody(errors: string[]): { errors: string[] } {
  return { errors };
}

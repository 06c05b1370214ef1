import type { AuditBroker } from "../../audit/audit-broker.js";
import type { PolicyCache } from "../../policy-cache.js";
import type { LogicalRequest, LogicalResponse, StorageView, TokenEntry } from "../../types.js";

export interface SystemBackendDeps {
  policies: PolicyCache;
  audit: AuditBroker;
  capabilities(tx: StorageView, token: TokenEntry, path: string): string[];
  lookupToken(tx: StorageView, token: string): TokenEntry | undefined;
  lookupAccessor(tx: StorageView, accessor: string): TokenEntry | undefined;
  keyStatus(): { term: number; install_time: string };
}

/** Gets the request and the pattern's first capture ("" when it has none). */
export type Handler = (req: LogicalRequest, match: string) => LogicalResponse;

export interface Route {
  pattern: RegExp;
  operations: Partial<Record<LogicalRequest["operation"], Handler>>;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

import { AuditBroker, type AuditDeviceConfig } from "../../audit/audit-broker.js";
import { badRequest } from "../../errors.js";
import { AUDIT_TABLE_KEY, normalizeMountPath } from "../../mount-table.js";
import type { LogicalRequest, LogicalResponse, StorageView } from "../../types.js";
import { type Handler, isRecord, type Route, type SystemBackendDeps } from "./route.js";

/** sys/audit (devices) and sys/audit-hash (what a device would log for a value). */
export function auditRoutes(deps: SystemBackendDeps): Route[] {
  const auditHash: Handler = (req, raw) => {
    const path = normalizeMountPath(raw);
    if (!auditTable(req.tx)[path]) throw badRequest("unknown audit backend");
    if (typeof req.data.input !== "string") throw badRequest("the 'input' parameter is required");
    return { data: { hash: deps.audit.hash(path, req.data.input) } };
  };

  return [
    { pattern: /^audit\/?$/, operations: { read: listAudit } },
    {
      pattern: /^audit\/(.+)$/,
      operations: { create: enableAudit, update: enableAudit, delete: disableAudit },
    },
    { pattern: /^audit-hash\/(.+)$/, operations: { create: auditHash, update: auditHash } },
  ];
}

function auditTable(tx: StorageView): Record<string, AuditDeviceConfig> {
  return tx.getJSON<Record<string, AuditDeviceConfig>>(AUDIT_TABLE_KEY) ?? {};
}

function listAudit(req: LogicalRequest): LogicalResponse {
  const data: Record<string, unknown> = {};
  for (const [path, device] of Object.entries(auditTable(req.tx))) {
    data[path] = {
      type: device.type,
      description: device.description,
      options: device.options,
      local: false,
      path,
    };
  }
  return { data };
}

function enableAudit(req: LogicalRequest, raw: string): LogicalResponse {
  const path = normalizeMountPath(raw);
  const table = auditTable(req.tx);
  if (table[path]) throw badRequest("path already in use");
  const options: Record<string, string> = Object.create(null);
  if (isRecord(req.data.options))
    for (const [k, v] of Object.entries(req.data.options)) options[k] = String(v);
  table[path] = AuditBroker.newDevice(
    String(req.data.type ?? ""),
    typeof req.data.description === "string" ? req.data.description : "",
    options,
  );
  req.tx.putJSON(AUDIT_TABLE_KEY, table);
  return {};
}

function disableAudit(req: LogicalRequest, raw: string): LogicalResponse {
  const path = normalizeMountPath(raw);
  const table = auditTable(req.tx);
  delete table[path];
  req.tx.putJSON(AUDIT_TABLE_KEY, table);
  return {};
}

import { randomUUID } from "node:crypto";
import { badRequest, notFound, unsupportedOperation } from "../../errors.js";
import type { LogicalRequest, LogicalResponse } from "../../types.js";
import {
  fieldDuration,
  fieldInt,
  fieldString,
  fieldStringList,
  fieldStringMap,
  isWrite,
} from "../token-backend.js";
import {
  type AccessorEntry,
  accessorKey,
  deleteSecretId,
  exactUnix,
  findSecretId,
  requireRole,
  type SecretIdEntry,
  secretIdPrefix,
  sha256,
  unix,
} from "./approle-store.js";
import { cidrSubset, validCidrs } from "./cidr.js";

const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

const rfc3339 = (seconds: number) =>
  seconds === 0 ? GO_ZERO_TIME : new Date(seconds * 1000).toISOString();

/** role/<name>/secret-id: LIST the accessors, or write to generate a secret ID. */
export function secretId(req: LogicalRequest, name: string): LogicalResponse {
  if (req.operation === "list") return listSecretIds(req, name);
  if (!isWrite(req)) throw unsupportedOperation();
  return issueSecretId(req, name, randomUUID());
}

export function customSecretId(req: LogicalRequest, name: string): LogicalResponse {
  if (!isWrite(req)) throw unsupportedOperation();
  const custom = fieldString(req.data, "secret_id")?.trim();
  if (!custom) throw badRequest("missing secret_id");
  return issueSecretId(req, name, custom);
}

/** Lookup or destroy of one secret ID, named by its value or by its accessor. */
export function secretIdOperation(
  req: LogicalRequest,
  name: string,
  field: "secret_id" | "secret_id_accessor",
  action: "lookup" | "destroy",
): LogicalResponse {
  if (!isWrite(req) && !(action === "destroy" && req.operation === "delete")) {
    throw unsupportedOperation();
  }
  const role = requireRole(req, name);
  const found = findSecretId(req, role, field);
  if (action === "lookup") {
    if (!found) throw notFound();
    return { data: secretIdData(found.entry) };
  }
  if (found) deleteSecretId(req.storage, role.name, found.hash);
  else if (field === "secret_id_accessor") throw notFound();
  return {};
}

function issueSecretId(req: LogicalRequest, name: string, secretId: string): LogicalResponse {
  const role = requireRole(req, name);
  if (!role.bind_secret_id) throw badRequest("bind_secret_id is not set on the role");
  const d = req.data;

  let numUses = role.secret_id_num_uses;
  const requestedUses = fieldInt(d, "num_uses");
  if (requestedUses !== undefined) {
    if (requestedUses < 0) throw badRequest("num_uses cannot be negative");
    const limit = role.secret_id_num_uses;
    if (limit > 0 && (requestedUses === 0 || requestedUses > limit)) {
      throw badRequest("num_uses cannot be higher than the role's secret_id_num_uses");
    }
    numUses = requestedUses;
  }
  let ttl = role.secret_id_ttl;
  const requestedTtl = fieldDuration(d, "ttl");
  if (requestedTtl !== undefined) {
    const limit = role.secret_id_ttl;
    if (limit > 0 && (requestedTtl === 0 || requestedTtl > limit)) {
      throw badRequest("ttl cannot be longer than the role's secret_id_ttl");
    }
    ttl = requestedTtl;
  }
  const cidrList = validCidrs(fieldStringList(d, "cidr_list") ?? []);
  if (!cidrSubset(cidrList, role.secret_id_bound_cidrs)) {
    throw badRequest("failed to verify the CIDR restrictions set on the secret ID");
  }
  if ((fieldStringList(d, "token_bound_cidrs") ?? []).length > 0) {
    throw badRequest("token_bound_cidrs is not supported by this server");
  }
  const metadata = parseMetadata(d);

  const key = secretIdPrefix(role.name) + sha256(secretId);
  if (req.storage.get(key) !== undefined) throw badRequest("SecretID is already registered");
  const now = unix(req);
  const entry: SecretIdEntry = {
    secret_id_accessor: randomUUID(),
    secret_id_num_uses: numUses,
    secret_id_ttl: ttl,
    creation_time: now,
    // To the millisecond, as Vault's time.Time: a whole-second floor would end it up to 1 s early.
    expiration_time: ttl > 0 ? exactUnix(req) + ttl : 0,
    last_updated_time: now,
    metadata,
    cidr_list: cidrList,
  };
  req.storage.putJSON(key, entry);
  req.storage.putJSON(accessorKey(entry.secret_id_accessor), {
    role: role.name,
    hash: sha256(secretId),
  } satisfies AccessorEntry);
  return {
    data: {
      secret_id: secretId,
      secret_id_accessor: entry.secret_id_accessor,
      secret_id_ttl: ttl,
      secret_id_num_uses: numUses,
    },
  };
}

function parseMetadata(d: Record<string, unknown>): Record<string, string> {
  const raw = d.metadata;
  if (raw === undefined || raw === null || raw === "") return {};
  if (typeof raw !== "string") return fieldStringMap(d, "metadata") ?? {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest("failed to parse metadata: invalid JSON");
  }
  try {
    return fieldStringMap({ metadata: parsed }, "metadata") ?? {};
  } catch {
    throw badRequest("failed to parse metadata: values must be strings");
  }
}

function listSecretIds(req: LogicalRequest, name: string): LogicalResponse {
  const role = requireRole(req, name);
  const keys: string[] = [];
  for (const hash of req.storage.list(secretIdPrefix(role.name))) {
    const entry = req.storage.getJSON<SecretIdEntry>(secretIdPrefix(role.name) + hash);
    if (entry) keys.push(entry.secret_id_accessor);
  }
  if (keys.length === 0) throw notFound();
  return { data: { keys: keys.sort() } };
}

function secretIdData(entry: SecretIdEntry): Record<string, unknown> {
  return {
    cidr_list: entry.cidr_list,
    creation_time: rfc3339(entry.creation_time),
    expiration_time: rfc3339(entry.expiration_time),
    last_updated_time: rfc3339(entry.last_updated_time),
    metadata: entry.metadata,
    secret_id_accessor: entry.secret_id_accessor,
    secret_id_num_uses: entry.secret_id_num_uses,
    secret_id_ttl: entry.secret_id_ttl,
    token_bound_cidrs: [],
  };
}

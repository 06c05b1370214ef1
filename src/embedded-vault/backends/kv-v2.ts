/**
 * KV secrets engine version 2 (Vault's versioned K/V, vault-plugin-secrets-kv).
 *
 * Storage layout inside the mount's view (all JSON):
 *   config               engine settings {max_versions, cas_required, delete_version_after (s)}
 *   meta/<path>          per-key metadata: settings, custom_metadata, current/oldest version and
 *                        {created_time, deletion_time, destroyed} per kept version
 *   versions/<path>/<n>  {data} of version n
 * A read is one meta get plus one version get; LIST metadata/<folder>/ is
 * storage.list("meta/<folder>/"), so a key stays listed until its metadata is deleted.
 */
import { unsupportedOperation } from "../errors.js";
import type { LogicalBackend, LogicalRequest, LogicalResponse, Operation } from "../types.js";
import { nanosAt } from "./kv-time.js";
import {
  deleteVersions,
  destroyVersions,
  type KvContext,
  patchData,
  readData,
  readSubkeys,
  softDeleteLatest,
  undeleteVersions,
  writeData,
} from "./kv-v2-data.js";
import {
  deleteMetadata,
  listMetadata,
  patchMetadata,
  readConfig,
  readMetadata,
  writeConfig,
  writeMetadata,
} from "./kv-v2-metadata.js";
import { loadMeta } from "./kv-v2-store.js";

type Handler = (ctx: KvContext) => LogicalResponse;

/** A Map: the section comes from the request path, and must never find Object.prototype's members. */
const KEYED_ROUTES = new Map<string, Partial<Record<Operation, Handler>>>([
  [
    "data",
    {
      read: readData,
      create: writeData,
      update: writeData,
      patch: patchData,
      delete: softDeleteLatest,
    },
  ],
  [
    "metadata",
    {
      read: readMetadata,
      create: writeMetadata,
      update: writeMetadata,
      patch: patchMetadata,
      delete: deleteMetadata,
    },
  ],
  ["delete", { create: deleteVersions, update: deleteVersions }],
  ["undelete", { create: undeleteVersions, update: undeleteVersions }],
  ["destroy", { create: destroyVersions, update: destroyVersions }],
  ["subkeys", { read: readSubkeys }],
]);

const CONFIG_ROUTE: Partial<Record<Operation, Handler>> = {
  read: readConfig,
  create: writeConfig,
  update: writeConfig,
};

const ROOT_WARNING = "Non-listing operations on the root of a K/V v2 mount are not supported.";
const CLI_VERBS: Record<Operation, string> = {
  create: "put",
  update: "put",
  patch: "patch",
  read: "get",
  list: "list",
  delete: "delete",
};

/** Vault answers these with 404 and a warning in a full envelope, not with an error list. */
const warningNotFound = (warning: string): LogicalResponse => ({
  status: 404,
  warnings: [warning],
});

const invalidPath = (operation: Operation) =>
  warningNotFound(
    "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API " +
      `endpoints to use. If using the Vault CLI, use 'vault kv ${CLI_VERBS[operation]}' for this operation.`,
  );

function splitPath(path: string): { section: string; key: string } {
  const slash = path.indexOf("/");
  return slash === -1
    ? { section: path, key: "" }
    : { section: path.slice(0, slash), key: path.slice(slash + 1) };
}

function handle(req: LogicalRequest): LogicalResponse {
  const { section, key } = splitPath(req.path);
  const ctx: KvContext = { req, storage: req.storage, key, now: nanosAt(req.now) };
  const operation = req.operation;

  if (req.path === "config") return dispatch(CONFIG_ROUTE, operation, ctx);
  const routes = KEYED_ROUTES.get(section);
  if (!routes) return invalidPath(operation);
  if (section === "metadata" && operation === "list") {
    return listMetadata(ctx, key === "" || key.endsWith("/") ? key : `${key}/`);
  }
  if (key === "")
    return operation === "list" ? invalidPath(operation) : warningNotFound(ROOT_WARNING);
  // A secret's name never ends in "/"; Vault's path patterns do not match such paths.
  if (key.endsWith("/")) return invalidPath(operation);
  return dispatch(routes, operation, ctx);
}

function dispatch(
  routes: Partial<Record<Operation, Handler>>,
  operation: Operation,
  ctx: KvContext,
): LogicalResponse {
  const handler = routes[operation];
  if (!handler) throw unsupportedOperation();
  return handler(ctx);
}

/** Create vs update: a key exists once it has metadata; paths without a check are updates. */
function exists(req: LogicalRequest): boolean {
  const { section, key } = splitPath(req.path);
  if (section !== "data" && section !== "metadata") return true;
  return key !== "" && loadMeta(req.storage, key) !== undefined;
}

export function createKvV2Backend(): LogicalBackend {
  return { type: "kv", exists, handle };
}

import { badRequest, notFound } from "../../errors.js";
import { normalizePolicyName, parsePolicy } from "../../policy/policy.js";
import { POLICY_PREFIX, readStoredPolicy } from "../../policy-cache.js";
import type { LogicalRequest, LogicalResponse, StorageView } from "../../types.js";
import type { Handler, Route, SystemBackendDeps } from "./route.js";

/** sys/policy (the legacy API, answering `rules`) and sys/policies/acl (answering `policy`). */
export function policyRoutes(deps: SystemBackendDeps): Route[] {
  const writePolicy: Handler = (req, raw) => {
    const name = normalizePolicyName(raw);
    if (name === "root") throw badRequest(`cannot update "root" policy`);
    const text = req.data.policy ?? req.data.rules;
    if (typeof text !== "string" || text.trim() === "")
      throw badRequest("'policy' parameter not supplied or empty");
    const policy = parsePolicy(name, text);
    req.tx.putJSON(POLICY_PREFIX + name, { name, text: policy.text });
    deps.policies.invalidate();
    return {};
  };

  const deletePolicy: Handler = (req, raw) => {
    const name = normalizePolicyName(raw);
    if (name === "root") throw badRequest(`cannot delete "root" policy`);
    if (name === "default") throw badRequest("cannot delete default policy");
    req.tx.delete(POLICY_PREFIX + name);
    deps.policies.invalidate();
    return {};
  };

  const policyOperations = (field: "rules" | "policy"): Route["operations"] => ({
    read: (req, raw) => readPolicy(req, raw, field),
    create: writePolicy,
    update: writePolicy,
    delete: deletePolicy,
  });

  return [
    { pattern: /^policy\/?$/, operations: { read: listPoliciesLegacy, list: listPoliciesLegacy } },
    { pattern: /^policy\/(.+)$/, operations: policyOperations("rules") },
    { pattern: /^policies\/acl\/?$/, operations: { list: listPolicies, read: listPolicies } },
    { pattern: /^policies\/acl\/(.+)$/, operations: policyOperations("policy") },
  ];
}

function policyNames(tx: StorageView): string[] {
  const stored = tx.list(POLICY_PREFIX).filter((k) => !k.endsWith("/"));
  return [...new Set(["default", ...stored, "root"])].sort();
}

function listPoliciesLegacy(req: LogicalRequest): LogicalResponse {
  const names = policyNames(req.tx);
  return { data: { keys: names, policies: names } };
}

function listPolicies(req: LogicalRequest): LogicalResponse {
  return { data: { keys: policyNames(req.tx) } };
}

function readPolicy(req: LogicalRequest, raw: string, field: "rules" | "policy"): LogicalResponse {
  const name = normalizePolicyName(raw);
  if (name === "root") return { data: { name, [field]: "" } };
  const stored = readStoredPolicy(req.tx, name);
  if (!stored) throw notFound();
  return { data: { name, [field]: stored.text } };
}

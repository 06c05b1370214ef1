import { Acl } from "./policy/acl.js";
import {
  DEFAULT_POLICY_TEXT,
  normalizePolicyName,
  type Policy,
  parsePolicy,
} from "./policy/policy.js";
import type { StorageView } from "./types.js";

export const POLICY_PREFIX = "sys/policy/";

export interface StoredPolicy {
  name: string;
  text: string;
}

/**
 * Parsed policies and compiled ACLs, cached because every request needs one. The system
 * backend calls `invalidate()` after any policy write has been committed.
 */
export class PolicyCache {
  private readonly policies = new Map<string, Policy | null>();
  private readonly acls = new Map<string, Acl>();

  invalidate(): void {
    this.policies.clear();
    this.acls.clear();
  }

  aclFor(tx: StorageView, policyNames: readonly string[]): Acl {
    const cacheKey = [...policyNames].sort().join("\n");
    let acl = this.acls.get(cacheKey);
    if (!acl) {
      const policies: Policy[] = [];
      for (const name of policyNames) {
        const policy = this.policy(tx, name);
        if (policy) policies.push(policy);
      }
      acl = new Acl(policies);
      this.acls.set(cacheKey, acl);
    }
    return acl;
  }

  policy(tx: StorageView, rawName: string): Policy | null {
    const name = normalizePolicyName(rawName);
    if (this.policies.has(name)) return this.policies.get(name) ?? null;
    const policy = loadPolicy(tx, name);
    this.policies.set(name, policy);
    return policy;
  }
}

export function readStoredPolicy(tx: StorageView, name: string): StoredPolicy | undefined {
  const stored = tx.getJSON<StoredPolicy>(POLICY_PREFIX + name);
  if (stored) return stored;
  if (name === "default") return { name, text: DEFAULT_POLICY_TEXT };
  return undefined;
}

export function policyExists(tx: StorageView, rawName: string): boolean {
  const name = normalizePolicyName(rawName);
  return name === "root" || readStoredPolicy(tx, name) !== undefined;
}

function loadPolicy(tx: StorageView, name: string): Policy | null {
  if (name === "root") return null;
  const stored = readStoredPolicy(tx, name);
  return stored ? parsePolicy(stored.name, stored.text) : null;
}

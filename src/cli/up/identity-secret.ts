/**
 * `bootstrap --k8s-secret NAME`: the identity bootstrap wrote (CA, server certificate, operator
 * token, bundle signer) copied into one Kubernetes Secret the broker replicas mount, through the
 * `kubernetes-secret` sink (a server-side apply, written only when a file changed). One key per
 * file of the directory's top level: Secret keys cannot hold `/`, and the per-service identities
 * below `identities/` are not what a replica mounts (service kits are made from the CA).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createDriverRegistry } from "../../../drivers/registry.js";
import type { SinkWrite } from "../../../drivers/types.js";

export async function writeIdentitySecret(options: {
  dir: string;
  name: string;
  deployment: string;
  /** Default: the kubeconfig's (or the pod's) namespace. */
  namespace?: string;
}): Promise<SinkWrite> {
  const files = readdirSync(options.dir)
    .filter((name) => statSync(join(options.dir, name)).isFile())
    .sort();
  const entries = new Map(
    files.map((name) => [name, readFileSync(join(options.dir, name), "utf8")]),
  );
  const sink = createDriverRegistry()
    .secretSink("kubernetes-secret")
    .create(
      {
        kind: "kubernetes-secret",
        name: options.name,
        keys: Object.fromEntries(files.map((name) => [name, name])),
        ...(options.namespace && { namespace: options.namespace }),
      },
      { deployment: options.deployment },
    );
  return sink.write(entries, new AbortController().signal);
}

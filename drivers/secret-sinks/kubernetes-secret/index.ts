/**
 * The `kubernetes-secret` sink: keeps one Kubernetes Secret holding the deployment's values for
 * consumers that read Secrets (OpenStack-Helm charts, RHOSO's `osp-secret`).
 *
 *   sinks:
 *     - {kind: kubernetes-secret, namespace: openstack, name: osp-secret,
 *        keys: {AdminPassword: AdminPassword, NovaPassword: NovaPassword}}
 *     - {kind: kubernetes-secret, namespace: openstack, name: osp-secret, format: osp-secret}
 *
 * `format: osp-secret` (or `kolla`) is a preset of keys, resolved when the manifest is built
 * (src/config/manifest-builder.ts, from the name map through src/config/password-keys.ts): every
 * key of that format whose source is a string secret of the manifest, named as the format names
 * it. An osp-secret key comes from its TripleO parameter (DbRootPassword ← MysqlRootPassword),
 * else the secret of its own name, else its kolla key (AdminPassword ← keystone_admin_password);
 * a kolla key from the secret of its own name, else its TripleO counterpart. `keys` may be given
 * too: its entries add to the preset's and override them. One of the two at least; an unknown
 * format, or a preset that gives no key for the manifest, is a manifest error. This driver gets
 * the resolved stanza: `keys` complete, no `format`.
 *
 * It reads the Secret first and writes only when its content differs: a server-side apply, as
 * `kubectl apply --server-side --force-conflicts --field-manager=strongroom` sends it (PATCH,
 * `application/apply-patch+yaml`, `?fieldManager=strongroom&force=true`, the whole object as
 * JSON), so the Secret is created or updated in one idempotent request and strongroom owns the
 * keys it writes. The annotation `strongroom.io/content-hash` (sha256 of the sorted keys and
 * values) changes exactly when a value does, for Reloader-style controllers.
 */
import { createHash } from "node:crypto";
import { SINK_KEY_PATTERN } from "../../../src/config/manifest-schema.js";
import { configError, ERRORS } from "../../../src/lib/errors.js";
import {
  apiProblem,
  CONNECTION_KEYS,
  CoreV1Api,
  connect,
  isNotFound,
  OBJECT_NAME,
  PatchStrategy,
  parseConnection,
  setHeaderOptions,
} from "../../restarters/kubernetes/kube-client.js";
import {
  rejectUnknownKeys,
  type Stanza,
  StanzaProblem,
  stanzaProblem,
  stringParameter,
} from "../../restarters/stanza.js";
import type { SecretSink, SecretSinkDriver } from "../../types.js";

export const CONTENT_HASH_ANNOTATION = "strongroom.io/content-hash";
export const DEPLOYMENT_ANNOTATION = "strongroom.io/deployment";
export const FIELD_MANAGER = "strongroom";

const sinkError = (message: string, cause?: unknown) =>
  ERRORS.STRONGROOM_ERR_SINK(message, { cause });

interface SecretStanza {
  name: string;
  type: string;
  labels: Record<string, string>;
  connection: ReturnType<typeof parseConnection>;
}

function parseSecretStanza(stanza: Stanza): SecretStanza {
  rejectUnknownKeys(stanza, ["keys", "name", "type", "labels", ...CONNECTION_KEYS]);
  const name = stringParameter(stanza, "name");
  if (!OBJECT_NAME.test(name) || name.length > 253) {
    throw new StanzaProblem(`"name": "${name}" is not a Kubernetes Secret name`);
  }
  const labels = stanza["labels"] ?? {};
  if (
    typeof labels !== "object" ||
    labels === null ||
    Array.isArray(labels) ||
    !Object.values(labels).every((v) => typeof v === "string")
  ) {
    throw new StanzaProblem(`"labels" must map label names to strings`);
  }
  const keys = stanza["keys"];
  if (typeof keys !== "object" || keys === null || Object.keys(keys).length === 0) {
    throw new StanzaProblem(`"keys" must map Secret keys to secret names`);
  }
  const badKey = Object.keys(keys).find((key) => !SINK_KEY_PATTERN.test(key));
  if (badKey !== undefined) throw new StanzaProblem(`"keys": "${badKey}" is not a Secret key`);
  return {
    name,
    type: stringParameter(stanza, "type", "Opaque"),
    labels: labels as Record<string, string>,
    connection: parseConnection(stanza),
  };
}

/** sha256 over the entries sorted by key, each key and value length-prefixed (unambiguous). */
export function contentHash(entries: ReadonlyMap<string, string>): string {
  const hash = createHash("sha256");
  for (const key of [...entries.keys()].sort()) {
    for (const part of [key, entries.get(key)!]) {
      const bytes = Buffer.from(part, "utf8");
      hash.update(`${bytes.length}:`).update(bytes);
    }
  }
  return hash.digest("hex");
}

interface SecretObject {
  metadata?: { annotations?: Record<string, string> };
  data?: Record<string, string>;
  type?: string;
}

function holds(found: SecretObject, hash: string, data: Record<string, string>, type: string) {
  return (
    found.metadata?.annotations?.[CONTENT_HASH_ANNOTATION] === hash &&
    (found.type ?? "Opaque") === type &&
    Object.entries(data).every(([key, value]) => found.data?.[key] === value)
  );
}

export function createKubernetesSecretSink(stanza: Stanza, deployment: string): SecretSink {
  let parsed: SecretStanza;
  try {
    parsed = parseSecretStanza(stanza);
  } catch (error) {
    if (!(error instanceof StanzaProblem)) throw error;
    throw configError(`kubernetes-secret sink: ${error.message}`, error);
  }
  const applyAs = setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply);
  return {
    driver: "kubernetes-secret",
    description: `kubernetes Secret ${parsed.connection.namespace ?? "(context namespace)"}/${parsed.name}`,
    async write(entries, signal) {
      const cluster = connect(parsed.connection, (reason) => sinkError(reason));
      const object = `kubernetes Secret ${cluster.namespace}/${parsed.name}`;
      const api = cluster.config.makeApiClient(CoreV1Api);
      const target = { name: parsed.name, namespace: cluster.namespace };
      const hash = contentHash(entries);
      const data = Object.fromEntries(
        [...entries].map(([key, value]) => [key, Buffer.from(value, "utf8").toString("base64")]),
      );
      const fail = (step: string, error: unknown) =>
        sinkError(`${object}: ${step}: ${apiProblem(error, { bodyMayHoldSecrets: true })}`, error);

      let found: SecretObject | undefined;
      try {
        found = (await api.readNamespacedSecret(target)) as SecretObject;
      } catch (error) {
        if (!isNotFound(error)) throw fail("cannot read it", error);
      }
      if (found && holds(found, hash, data, parsed.type)) {
        return {
          written: false,
          detail: `${object} unchanged (content-hash ${hash.slice(0, 12)})`,
        };
      }
      if (signal.aborted) throw sinkError(`${object}: not written (aborted)`);
      const body = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: parsed.name,
          namespace: cluster.namespace,
          labels: { ...parsed.labels, "app.kubernetes.io/managed-by": "strongroom" },
          annotations: { [CONTENT_HASH_ANNOTATION]: hash, [DEPLOYMENT_ANNOTATION]: deployment },
        },
        type: parsed.type,
        data,
      };
      try {
        await api.patchNamespacedSecret(
          { ...target, body, fieldManager: FIELD_MANAGER, force: true },
          applyAs,
        );
      } catch (error) {
        throw fail(found ? "cannot update it" : "cannot create it", error);
      }
      return {
        written: true,
        detail: `${object} ${found ? "updated" : "created"} (content-hash ${hash.slice(0, 12)})`,
      };
    },
  };
}

export const driver: SecretSinkDriver = {
  kind: "secret-sink",
  name: "kubernetes-secret",
  validate: (stanza) => stanzaProblem(() => parseSecretStanza(stanza)),
  create: (stanza, context) => createKubernetesSecretSink(stanza, context.deployment),
};

/**
 * The state directory: how every command after `up` finds the running broker.
 *
 *   <state-dir>/                 0700 (refused when group or others have any access)
 *     state.json                 broker address, Vault kind/address/KV mount, deployment name,
 *                                manifest path, pid of the running `up` (null once stopped)
 *     ca.pem  ca.key             the broker's CA (signs everything below)
 *     server.pem  server.key     TLS server certificate of the broker and the embedded Vault
 *     identities/                0700
 *       <service>.pem/.key       mTLS client identity of each service (CN = service)
 *       operator.pem/.key        the operator's mTLS client identity
 *     operator.token             the operator's Vault token (policy strongroom-operator)
 *     operator.key  operator.pub X25519 key pair (libsodium) the unseal shares are sealed to
 *     unseal.sealed              the unseal shares, crypto_box_seal'ed to operator.pub
 *     broker-bundle.key/.pub     the broker's bundle identity (X25519 + Ed25519): signs exports;
 *                                importing sites trust broker-bundle.pub
 *     broker-bundle.sequence     the sequence number of the last bundle it signed
 *     manifest.yaml              the manifest an import brought (state.json points to it)
 *     vault/                     the embedded Vault's barrier-encrypted storage
 *     raft/  vault-server.hcl    the same for a `vault`/`bao` binary (--vault binary)
 *
 * Every file is 0600 and written atomically (temporary file + fsync + rename). The root token
 * and the plaintext unseal shares never reach this directory.
 */
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { join, resolve } from "node:path";
import type { Static } from "typebox";
import Type from "typebox";
import Value from "typebox/value";
import { ERRORS } from "../lib/errors.js";
import { writeFileAtomic } from "../lib/files.js";
import { isReadOnly } from "../lib/io-failure.js";

export { syncDirectory, writeFileAtomic } from "../lib/files.js";

export const STATE_DIR_ENV = "STRONGROOM_STATE_DIR";
export const DEFAULT_STATE_DIR = ".strongroom";

export const STATE_FILES = {
  state: "state.json",
  caCert: "ca.pem",
  caKey: "ca.key",
  serverCert: "server.pem",
  serverKey: "server.key",
  identities: "identities",
  operatorToken: "operator.token",
  operatorSecretKey: "operator.key",
  operatorPublicKey: "operator.pub",
  unsealShares: "unseal.sealed",
  bundleSecretKey: "broker-bundle.key",
  bundlePublicKey: "broker-bundle.pub",
  bundleSequence: "broker-bundle.sequence",
  importedManifest: "manifest.yaml",
  vaultStorage: "vault",
  /** The broker's audit log (JSON lines, HMAC-chained) and its key. */
  auditLog: "audit.log",
  auditKey: "audit.key",
  /** The embedded Vault's file audit device (values HMAC'd, as Vault). */
  vaultAuditLog: "vault-audit.log",
} as const;

const BrokerStateSchema = Type.Object({
  version: Type.Literal(1),
  deployment: Type.String({ minLength: 1 }),
  /** Absolute path of the manifest `up` was given. */
  manifest: Type.String({ minLength: 1 }),
  broker: Type.Object({
    url: Type.String({ minLength: 1 }),
    host: Type.String(),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
  }),
  vault: Type.Object({
    kind: Type.Union([Type.Literal("embedded"), Type.Literal("binary"), Type.Literal("external")]),
    addr: Type.String({ minLength: 1 }),
    kvMount: Type.String({ minLength: 1 }),
    /** The CA bundle that verifies an https Vault (the state dir's ca.pem for the embedded one). */
    caFile: Type.Optional(Type.String()),
  }),
  /** The pid of the running `up`; null once it stopped cleanly. */
  pid: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  updatedAt: Type.String(),
});

export type BrokerState = Static<typeof BrokerStateSchema>;

/** File names (relative to the state dir) of a client identity. */
export function identityFiles(
  identity: { kind: "operator" } | { kind: "service"; service: string },
): {
  cert: string;
  key: string;
} {
  const base = identity.kind === "operator" ? "operator" : identity.service;
  return {
    cert: join(STATE_FILES.identities, `${base}.pem`),
    key: join(STATE_FILES.identities, `${base}.key`),
  };
}

/** The CA bundle that verifies the deployment's Vault; undefined: the system's CAs. */
export function vaultCaFile(dir: StateDir, state: BrokerState): string | undefined {
  return (
    state.vault.caFile ??
    (state.vault.kind === "embedded" ? dir.file(STATE_FILES.caCert) : undefined)
  );
}

/** `--state-dir`, else STRONGROOM_STATE_DIR (`fromEnvironment`), else ./.strongroom; absolute. */
export function resolveStateDirPath(flag?: string, fromEnvironment?: string): string {
  return resolve(flag || fromEnvironment || DEFAULT_STATE_DIR);
}

/** Said at start, before anything else fails on the first write with a bare errno. */
export function readOnlyStateDir(path: string, cause: unknown): Error {
  const code = (cause as NodeJS.ErrnoException).code ?? "error";
  return ERRORS.STRONGROOM_ERR_STATE(
    `the state dir ${path} is read-only (${code}): strongroom writes its state there; ` +
      `make it writable for this user or choose another with --state-dir`,
    { cause },
  );
}

export class StateDir {
  private constructor(readonly path: string) {}

  /** Creates the directory (0700) when missing; refuses one others can read or none may write. */
  static create(path: string): StateDir {
    try {
      mkdirSync(path, { recursive: true, mode: 0o700 });
      accessSync(path, constants.W_OK);
    } catch (error) {
      throw isReadOnly(error) ? readOnlyStateDir(resolve(path), error) : error;
    }
    const dir = new StateDir(resolve(path));
    dir.checkPrivate(dir.path);
    return dir;
  }

  /** An existing state dir; fails with a hint to run `up` when there is none. */
  static open(path: string): StateDir {
    if (!existsSync(join(path, STATE_FILES.state))) {
      throw ERRORS.STRONGROOM_ERR_NO_STATE(
        `no strongroom state in ${path}: run \`strongroom up\` first (or pass --state-dir / ${STATE_DIR_ENV})`,
      );
    }
    const dir = new StateDir(resolve(path));
    dir.checkPrivate(dir.path);
    return dir;
  }

  file(name: string): string {
    return join(this.path, name);
  }

  has(name: string): boolean {
    return existsSync(this.file(name));
  }

  read(name: string): Buffer {
    try {
      return readFileSync(this.file(name));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      throw ERRORS.STRONGROOM_ERR_STATE(`cannot read ${this.file(name)} (${code})`);
    }
  }

  readText(name: string): string {
    return this.read(name).toString("utf8");
  }

  /** Atomic 0600 write; parent directories inside the state dir are created 0700. */
  write(name: string, data: string | Uint8Array): void {
    writeFileAtomic(this.file(name), data);
  }

  remove(name: string): void {
    rmSync(this.file(name), { force: true });
  }

  readState(): BrokerState | undefined {
    if (!this.has(STATE_FILES.state)) return undefined;
    const file = this.file(STATE_FILES.state);
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.readText(STATE_FILES.state));
    } catch {
      throw ERRORS.STRONGROOM_ERR_STATE(`${file} is not valid JSON`);
    }
    const [problem] = Value.Errors(BrokerStateSchema, parsed);
    if (problem) {
      const where = problem.instancePath === "" ? "the document" : problem.instancePath;
      throw ERRORS.STRONGROOM_ERR_STATE(
        `${file} is not a strongroom state file (${where}: ${problem.message})`,
      );
    }
    return parsed as BrokerState;
  }

  writeState(state: Omit<BrokerState, "version" | "updatedAt">): BrokerState {
    const full: BrokerState = { version: 1, ...state, updatedAt: new Date().toISOString() };
    this.write(STATE_FILES.state, `${JSON.stringify(full, null, 2)}\n`);
    return full;
  }

  private checkPrivate(path: string): void {
    const stat = lstatSync(path);
    if (!stat.isDirectory()) {
      throw ERRORS.STRONGROOM_ERR_STATE(`${path} is not a directory`);
    }
    if ((stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8);
      throw ERRORS.STRONGROOM_ERR_STATE(
        `${path} is accessible to other users (mode ${mode}): run \`chmod 700 ${path}\``,
      );
    }
  }
}

/** Mode bits of a path (tests and `status` use it to show the state dir is private). */
export function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

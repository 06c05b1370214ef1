/**
 * The environment strongroom reads, in one place: read once when the CLI starts, checked, and
 * handed to the commands. Nothing else in the code reads process.env (children get theirs from
 * run-argv).
 */
import { usageError } from "../lib/errors.js";

/** The variables strongroom reads (the OS_* family feeds the `environment` config source). */
export const ENVIRONMENT_VARIABLES = {
  STRONGROOM_STATE_DIR: "the state directory, when --state-dir is not given",
  VAULT_ADDR: "the Vault `up --vault external` sets up",
  VAULT_TOKEN: "a token of that Vault allowed to mount, enable AppRole and write policies",
  VAULT_CACERT: "the CA bundle (PEM) that verifies that Vault's TLS",
  VAULT_DEV_ROOT_TOKEN_ID: "the root token of `vault-server --dev`",
  "OS_<GROUP>__<OPTION>": "an oslo.config option override, as oslo.config reads it",
} as const;

export interface StrongroomEnvironment {
  readonly stateDir?: string;
  readonly vaultAddr?: string;
  readonly vaultToken?: string;
  readonly vaultCaCert?: string;
  readonly vaultDevRootToken?: string;
  /** Directories searched for `vault`/`bao` binaries. */
  readonly path: string;
  /** Every variable, for the `environment` config source (it reads only OS_<GROUP>__<OPTION>). */
  readonly osloOverrides: Readonly<Record<string, string | undefined>>;
}

/** Read once at start, then removed from process.env: no child, no later reader sees them. */
const SECRET_VARIABLES = ["VAULT_TOKEN", "VAULT_DEV_ROOT_TOKEN_ID"] as const;

/** Deletes the credentials readEnvironment has read from `env` (process.env in the CLI). */
export function forgetSecretVariables(env: NodeJS.ProcessEnv): void {
  for (const name of SECRET_VARIABLES) delete env[name];
}

const OSLO_OVERRIDE = /^OS_[A-Za-z0-9_]+__[A-Za-z0-9_]+$/;

/** Reads and checks the environment; a bad value is a usage error naming the variable. */
export function readEnvironment(env: NodeJS.ProcessEnv): StrongroomEnvironment {
  const optional = (name: keyof typeof ENVIRONMENT_VARIABLES) => {
    const value = env[name];
    if (value === undefined) return undefined;
    if (value.trim() === "") throw usageError(`${name} is set but empty`);
    return value;
  };
  const vaultAddr = optional("VAULT_ADDR");
  if (vaultAddr !== undefined && !isHttpUrl(vaultAddr)) {
    throw usageError("VAULT_ADDR is not an http:// or https:// URL");
  }
  const osloOverrides: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && OSLO_OVERRIDE.test(name)) osloOverrides[name] = value;
  }
  return Object.freeze({
    ...defined("stateDir", optional("STRONGROOM_STATE_DIR")),
    ...defined("vaultAddr", vaultAddr),
    ...defined("vaultToken", optional("VAULT_TOKEN")),
    ...defined("vaultCaCert", optional("VAULT_CACERT")),
    ...defined("vaultDevRootToken", optional("VAULT_DEV_ROOT_TOKEN_ID")),
    path: env["PATH"] ?? "",
    osloOverrides: Object.freeze(osloOverrides),
  });
}

const defined = <K extends string>(key: K, value: string | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, string>>;

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

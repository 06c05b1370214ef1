/**
 * MariaDB accounts' authentication chains (10.4+: `IDENTIFIED VIA a OR b OR ...`), read from
 * mysql.global_priv and rewritten whole, because ALTER USER replaces the entire chain.
 *
 * global_priv.Priv is JSON: the first password method sits at the top level (`plugin`,
 * `authentication_string`) and `auth_or`, when present, lists the chain in order with `{}`
 * standing for that top-level method. An account with no `plugin` at all (mariadb-install-db's
 * root with --auth-root-authentication-method=normal) has the empty native password.
 */
import { createHash } from "node:crypto";

export interface AuthMethod {
  plugin: string;
  /** The native hash (`*` + 40 hex), a principal for gssapi, "" for unix_socket. */
  authenticationString: string;
}

export const NATIVE_PLUGIN = "mysql_native_password";

/** Methods that check a stored password: rotation replaces them. Any other method (unix_socket,
 * gssapi, pam, ...) does not accept our secret and stays in the chain where it was. */
const PASSWORD_PLUGINS: ReadonlySet<string> = new Set([
  NATIVE_PLUGIN,
  "mysql_old_password",
  "ed25519",
  "parsec",
]);

const PLUGIN_NAME = /^[A-Za-z0-9_]+$/;

/** mysql_native_password's stored form: `*` + upper-case hex of SHA1(SHA1(password)); the
 * empty password is stored as "" (what PASSWORD('') returns). */
export function nativeHash(password: string): string {
  if (password === "") return "";
  const inner = createHash("sha1").update(password, "utf8").digest();
  return `*${createHash("sha1").update(inner).digest("hex").toUpperCase()}`;
}

const nativeMethod = (password: string): AuthMethod => ({
  plugin: NATIVE_PLUGIN,
  authenticationString: nativeHash(password),
});

function methodOf(entry: Record<string, unknown>): AuthMethod {
  const plugin = typeof entry["plugin"] === "string" ? entry["plugin"] : NATIVE_PLUGIN;
  const auth = entry["authentication_string"];
  return { plugin, authenticationString: typeof auth === "string" ? auth : "" };
}

/** The chain an account's global_priv.Priv JSON describes, in the order the server tries it. */
export function parseChain(priv: string | Record<string, unknown>): AuthMethod[] {
  const json = (typeof priv === "string" ? JSON.parse(priv) : priv) as Record<string, unknown>;
  const top = methodOf(json);
  const authOr = json["auth_or"];
  if (!Array.isArray(authOr)) return [top];
  return authOr.map((entry: Record<string, unknown>) =>
    Object.keys(entry).length === 0 ? top : methodOf(entry),
  );
}

const isPasswordMethod = (method: AuthMethod) => PASSWORD_PLUGINS.has(method.plugin);

/**
 * `existing` with its password methods replaced by native ones for `passwords` (in order,
 * duplicates once). Other methods keep their side: those before the first password method
 * stay in front (root's `unix_socket OR ...` keeps passwordless socket logins working).
 */
export function desiredChain(existing: readonly AuthMethod[], passwords: string[]): AuthMethod[] {
  const firstPassword = existing.findIndex(isPasswordMethod);
  const split = firstPassword === -1 ? existing.length : firstPassword;
  const before = existing.slice(0, split).filter((m) => !isPasswordMethod(m));
  const after = existing.slice(split).filter((m) => !isPasswordMethod(m));
  return [...before, ...[...new Set(passwords)].map(nativeMethod), ...after];
}

export const sameChain = (a: readonly AuthMethod[], b: readonly AuthMethod[]): boolean =>
  a.length === b.length &&
  a.every(
    (m, i) => m.plugin === b[i]?.plugin && m.authenticationString === b[i]?.authenticationString,
  );

/** True when some native method of `chain` checks `password`. */
export const chainAccepts = (chain: readonly AuthMethod[], password: string): boolean => {
  const hash = nativeHash(password);
  return chain.some((m) => m.plugin === NATIVE_PLUGIN && m.authenticationString === hash);
};

/**
 * The `IDENTIFIED VIA ...` clause for `chain`. Only hashes reach the SQL text (never a
 * password), so neither the processlist nor a statement log shows a usable value.
 */
export function identifiedVia(chain: readonly AuthMethod[], quote: (s: string) => string): string {
  const methods = chain.map((m) => {
    if (!PLUGIN_NAME.test(m.plugin)) throw new Error(`unexpected plugin name "${m.plugin}"`);
    return m.authenticationString === ""
      ? m.plugin
      : `${m.plugin} USING ${quote(m.authenticationString)}`;
  });
  return `IDENTIFIED VIA ${methods.join(" OR ")}`;
}

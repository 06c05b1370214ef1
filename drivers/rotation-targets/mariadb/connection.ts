/**
 * Fresh MariaDB connections over TCP (mysql2): one per check, so a login proves what a
 * consumer opening a new connection would see, never what a pooled session remembers.
 */
import mysql, { type Connection } from "mysql2/promise";
import { redact } from "../target-error.js";

export interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
}

const CONNECT_TIMEOUT_MS = 10_000;

/** The server refused these credentials (as opposed to being unreachable or broken). */
const DENIED_CODES: ReadonlySet<string> = new Set([
  "ER_ACCESS_DENIED_ERROR",
  "ER_ACCESS_DENIED_NO_PASSWORD_ERROR",
]);

export const isDenied = (error: unknown): boolean =>
  DENIED_CODES.has((error as { code?: string }).code ?? "");

/** An open connection, or "denied" when the password is refused; throws on anything else. */
export async function connect(
  endpoint: Endpoint,
  user: string,
  password: string,
): Promise<Connection | "denied"> {
  try {
    return await mysql.createConnection({
      host: endpoint.host,
      port: endpoint.port,
      user,
      password,
      connectTimeout: CONNECT_TIMEOUT_MS,
      ...(endpoint.tls && { ssl: { rejectUnauthorized: true } }),
    });
  } catch (error) {
    if (isDenied(error)) return "denied";
    throw error;
  }
}

/** True when a fresh login as `user` with `password` succeeds. */
export async function loginWorks(
  endpoint: Endpoint,
  user: string,
  password: string,
): Promise<boolean> {
  const connection = await connect(endpoint, user, password);
  if (connection === "denied") return false;
  await connection.end().catch(() => {});
  return true;
}

/**
 * One line about a mysql2 or network error, for a StrongroomError: the server's message without
 * SQL text (a parse error quotes the statement), native hashes and the given values blanked.
 */
export function sqlErrorText(error: unknown, values: readonly string[] = []): string {
  const e = error as { code?: string; sqlMessage?: string; message?: string };
  if (e.code === "ER_PARSE_ERROR") return "SQL syntax error (ER_PARSE_ERROR)";
  const text = (e.sqlMessage ?? e.message ?? String(error)).replace(/\*[0-9A-F]{40}/gi, "*<hash>");
  const line = redact(text, values).split("\n")[0] ?? "";
  return e.code && !line.includes(e.code) ? `${line} (${e.code})` : line;
}

/**
 * What a failed disk or SQLite operation says about the disk, for a one-line log or error:
 * its code, system call and path. Never its message: SQLite's and JSON's may quote data.
 */
const FULL = new Set(["ENOSPC", "EDQUOT", "SQLITE_FULL"]);
const READ_ONLY = new Set(["EROFS", "EACCES", "EPERM"]);

function field(error: unknown, name: "code" | "syscall" | "path"): string | undefined {
  const value = (error as Record<string, unknown> | null)?.[name];
  return typeof value === "string" ? value : undefined;
}

export function isDiskFull(error: unknown): boolean {
  return FULL.has(field(error, "code") ?? "");
}

export function isReadOnly(error: unknown): boolean {
  const code = field(error, "code") ?? "";
  return READ_ONLY.has(code) || code.startsWith("SQLITE_READONLY");
}

/** "ENOSPC (write /var/lib/strongroom/x)", "SQLITE_FULL", or "" for an error without a code. */
export function ioFailureDetail(error: unknown): string {
  const code = field(error, "code");
  if (code === undefined) return "";
  const where = [field(error, "syscall"), field(error, "path")].filter(Boolean).join(" ");
  return `${code}${where ? ` (${where})` : ""}${isDiskFull(error) ? ": disk full" : ""}`;
}

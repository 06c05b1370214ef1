import { readFileSync } from "node:fs";

/**
 * Whether `pid` still runs a command line containing every one of `marks`. A pid read from a file
 * may belong to a process that died: the kernel gives its number to the next one (pid_max is
 * 32768 here), which a test must never signal.
 */
export function runsCommand(pid: number, marks: readonly string[]): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return marks.every((mark) => argv.some((arg) => arg.includes(mark)));
  } catch {
    return false;
  }
}

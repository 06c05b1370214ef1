/**
 * Last-resort cleanup for the private servers tests start: when a test worker exits without
 * running afterAll (a crash, a timeout kill), its children would outlive it and its temp dirs
 * would stay. Registered processes get SIGKILL and registered dirs are removed at exit.
 */
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";

/** Each child with whether it leads its own process group (spawned `detached`). */
const children = new Map<ChildProcess, boolean>();
const dirs = new Set<string>();
let hooked = false;

function reapAll(): void {
  for (const [child, group] of children) {
    if (child.exitCode === null && child.signalCode === null) signal(child, group);
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", reapAll);
}

/** `group`: the child was spawned `detached`; its whole process group goes. */
export function reapAtExit(child: ChildProcess, group = false): () => void {
  hook();
  children.set(child, group);
  return () => children.delete(child);
}

export function removeAtExit(dir: string): () => void {
  hook();
  dirs.add(dir);
  return () => dirs.delete(dir);
}

/** Resolves when `child` has exited (at once when it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** SIGKILLs `child` (its whole process group when `group`) and waits for it to exit. */
export async function killAndWait(child: ChildProcess, group = false): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) signal(child, group);
  await exited(child);
}

function signal(child: ChildProcess, group: boolean): void {
  if (child.pid === undefined) return;
  try {
    process.kill(group ? -child.pid : child.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

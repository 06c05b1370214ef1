/**
 * The import's target state dir is only ever replaced by one rename: the new state is built in
 * a hidden sibling (same file system), and moved into place once complete.
 */
import { randomBytes } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import type { CleanupStack } from "../../lib/cleanup-stack.js";
import { ERRORS } from "../../lib/errors.js";
import { isProcessAlive } from "../../lib/process-alive.js";
import { STATE_FILES, syncDirectory } from "../../state/state-dir.js";

/**
 * Refuses a target that is not a directory, not empty (without `replace`), or in use. Answers
 * whether it holds anything (that an import with `replace` replaces).
 */
export function checkTarget(target: string, replace: boolean): boolean {
  if (!existsSync(target)) return false;
  if (!lstatSync(target).isDirectory()) {
    throw ERRORS.STRONGROOM_ERR_STATE(`${target} is not a directory`);
  }
  if (readdirSync(target).length === 0) return false;
  if (!replace) {
    throw ERRORS.STRONGROOM_ERR_STATE_NOT_EMPTY(
      `${target} is not empty: import into a new --state-dir, or pass --replace`,
    );
  }
  const pid = runningPid(join(target, STATE_FILES.state));
  if (pid !== undefined) {
    throw ERRORS.STRONGROOM_ERR_ALREADY_RUNNING(
      `strongroom is running on ${target} (pid ${pid}): stop it before replacing its state`,
    );
  }
  return true;
}

function runningPid(stateFile: string): number | undefined {
  try {
    const { pid } = JSON.parse(readFileSync(stateFile, "utf8")) as { pid?: unknown };
    return typeof pid === "number" && pid !== process.pid && isProcessAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Makes the staging dir (0700) beside the target; its removal is registered in `cleanups`. */
export function createStaging(target: string, cleanups: CleanupStack): string {
  const parent = dirname(target);
  try {
    // mkdirSync answers the first directory it had to create: that much is ours to remove.
    const createdParent = mkdirSync(parent, { recursive: true, mode: 0o700 });
    if (createdParent) {
      cleanups.push(() => rmSync(createdParent, { recursive: true, force: true }));
    }
    const staging = mkdtempSync(join(parent, `.${basename(target)}.import-`));
    cleanups.push(() => rmSync(staging, { recursive: true, force: true }));
    return staging;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw ERRORS.STRONGROOM_ERR_STATE(`cannot create a directory in ${parent} (${code})`);
  }
}

/** Moves the staging dir onto the target (absent, empty, or replaced as a whole). */
export function commitStaging(staging: string, target: string, replace: boolean): void {
  // Checked again: something may have appeared in the target while the import ran.
  const occupied = checkTarget(target, replace);
  if (!occupied) {
    // rename(2) replaces an empty directory.
    renameSync(staging, target);
  } else {
    const aside = join(
      dirname(target),
      `.${basename(target)}.replaced-${randomBytes(6).toString("hex")}`,
    );
    renameSync(target, aside);
    try {
      renameSync(staging, target);
    } catch (error) {
      renameSync(aside, target);
      throw error;
    }
    rmSync(aside, { recursive: true, force: true });
  }
  syncDirectory(dirname(target));
}

/**
 * Writes a service's files (key repositories) under one directory the command owns: each file
 * 0600 and written atomically, every directory 0700, and files a directory no longer holds
 * (a fernet key keystone dropped, say) removed, so the repository is exactly what the store has.
 */
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { usageError } from "../lib/errors.js";
import { writeFileAtomic } from "../lib/files.js";

export interface FileToWrite {
  path: string;
  content: string;
}

export function writeServiceFiles(out: string, files: readonly FileToWrite[]): string[] {
  const root = resolve(out);
  privateDir(root);
  const written = new Set<string>();
  for (const file of files) {
    const target = resolve(root, file.path);
    if (target === root || !target.startsWith(`${root}${sep}`)) {
      throw usageError(`the broker sent a file outside ${root}: refused`);
    }
    for (let dir = dirname(target); dir.startsWith(root); dir = dirname(dir)) {
      privateDir(dir);
      if (dir === root) break;
    }
    writeFileAtomic(target, file.content);
    written.add(target);
  }
  for (const dir of new Set([...written].map((file) => dirname(file)))) {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!written.has(path) && statSync(path).isFile()) rmSync(path);
    }
  }
  return [...written].map((file) => relative(root, file)).sort();
}

function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

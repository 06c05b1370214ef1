/**
 * A service's files that hold secrets (`files:` in the manifest): Keystone's fernet and
 * credential key repositories, say. A string secret is one file; a map secret in TripleO's
 * shape ({"/etc/keystone/fernet-keys/0": {content: "..."}, ...}) is one file per entry, named
 * by the entry's last path segment, in `dir`.
 */
import { posix } from "node:path";
import type { KeyManager } from "../../drivers/types.js";
import type { ServiceSpec } from "../config/manifest.js";
import { ERRORS } from "../lib/errors.js";
import type { ServiceFileContent } from "./broker-service.js";

const FILE_NAME = /^[A-Za-z0-9_.-]+$/;

const undeliverable = (message: string) => ERRORS.STRONGROOM_ERR_VALUE_UNDELIVERABLE(message);

export async function renderServiceFiles(
  spec: ServiceSpec,
  keyManager: Pick<KeyManager, "get">,
): Promise<ServiceFileContent[]> {
  const files: ServiceFileContent[] = [];
  for (const file of spec.files) {
    const stored = await keyManager.get(file.secret);
    if (!stored) {
      throw ERRORS.STRONGROOM_ERR_UNKNOWN_SECRET(
        `${spec.name}: ${file.secret} has no value in the store yet`,
      );
    }
    const { value, version } = stored;
    if ("path" in file) {
      if (typeof value !== "string") {
        throw undeliverable(`${spec.name}: ${file.secret} is a map: write it with "dir"`);
      }
      files.push({ path: file.path, content: value, secret: file.secret, version });
      continue;
    }
    if (typeof value === "string") {
      throw undeliverable(`${spec.name}: ${file.secret} is not a map of files: use "path"`);
    }
    for (const [key, entry] of Object.entries(value).sort(([a], [b]) => a.localeCompare(b))) {
      const name = posix.basename(key);
      const content = (entry as { content?: unknown } | null)?.content;
      if (!FILE_NAME.test(name) || name === "." || name === ".." || typeof content !== "string") {
        throw undeliverable(
          `${spec.name}: ${file.secret} has an entry that is not {<path>: {content: <text>}}`,
        );
      }
      files.push({ path: posix.join(file.dir, name), content, secret: file.secret, version });
    }
  }
  return files;
}

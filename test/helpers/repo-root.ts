import { fileURLToPath } from "node:url";

/** The repository root (this file is test/helpers/repo-root.ts), with a trailing slash. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

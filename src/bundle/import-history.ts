/**
 * What an importing node remembers of the bundles it imported: per signer, the last one. A
 * correctly signed bundle can still be an old one (secrets since rotated, an identity since
 * revoked); an import refuses one that is not newer than the last from the same signer.
 *
 * The memory lives with the node's own key, not in the state dir: every import builds a new
 * state dir, while the key is what the node keeps from one import to the next.
 *
 *   { "version": 1, "signers": { "<fingerprint>": { sequence, createdAt, headerHash,
 *                                                  deployment, importedAt } } }
 */
import { lstatSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ERRORS } from "../lib/errors.js";
import { writeFileAtomic } from "../lib/files.js";
import type { BundleHeader } from "./format.js";
import { isIsoTime, isSequence } from "./format.js";

export interface ImportedBundle {
  /** null: the bundle's writer set no sequence (ordered by createdAt). */
  sequence: number | null;
  createdAt: string;
  headerHash: string;
  deployment: string | null;
  /** When this node imported it. */
  importedAt: string;
}

export type ImportHistory = Map<string, ImportedBundle>;

/** `node-a.key` → `node-a.imports.json`, beside it. */
export function defaultTrustStateFile(keyFile: string): string {
  const name = basename(keyFile);
  const stem = name.endsWith(".key") && name !== ".key" ? name.slice(0, -4) : name;
  return join(dirname(keyFile), `${stem}.imports.json`);
}

/** An absent file is an empty history; anything unreadable or foreign is refused, never reset. */
export function readImportHistory(file: string): ImportHistory {
  return parseHistory(readText(file), file);
}

function parseHistory(text: string | undefined, file: string): ImportHistory {
  if (text === undefined) return new Map();
  const notOne = () =>
    ERRORS.STRONGROOM_ERR_TRUST_STATE(`${file} is not a strongroom import trust state`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw notOne();
  }
  if (!isObject(parsed) || parsed["version"] !== 1 || !isObject(parsed["signers"])) {
    throw notOne();
  }
  const history: ImportHistory = new Map();
  for (const [signer, entry] of Object.entries(parsed["signers"])) {
    if (!isImportedBundle(entry)) throw notOne();
    history.set(signer, entry);
  }
  return history;
}

export interface ImportCandidate {
  /** For messages: the bundle file. */
  file: string;
  header: BundleHeader;
  headerHash: string;
}

/** Throws STRONGROOM_ERR_BUNDLE_NOT_NEWER unless the bundle is newer than the signer's last. */
export function checkNewer(history: ImportHistory, candidate: ImportCandidate): void {
  const { file, header, headerHash } = candidate;
  const last = history.get(header.signer);
  if (!last) return;
  if (last.headerHash === headerHash) {
    throw ERRORS.STRONGROOM_ERR_BUNDLE_NOT_NEWER(
      `${file}: this bundle was already imported (on ${last.importedAt}); refusing a replay ` +
        "(--allow-older imports it again)",
    );
  }
  if (!isNewer(header, last)) {
    throw ERRORS.STRONGROOM_ERR_BUNDLE_NOT_NEWER(
      `${file}: ${describe(header)} is not newer than the last bundle imported from ` +
        `${header.signer}, ${describe(last)} (on ${last.importedAt}); refusing an older bundle ` +
        "(--allow-older imports it)",
    );
  }
}

/**
 * Both sequence numbers when both bundles carry one: a signer's clock may step back, its counter
 * does not. A bundle from a writer without sequences falls back to the signed creation time.
 */
export function isNewer(
  candidate: Pick<BundleHeader, "sequence" | "createdAt">,
  last: Pick<ImportedBundle, "sequence" | "createdAt">,
): boolean {
  if (candidate.sequence !== null && last.sequence !== null) {
    return candidate.sequence > last.sequence;
  }
  return Date.parse(candidate.createdAt) > Date.parse(last.createdAt);
}

/**
 * Remembers the bundle as its signer's last, re-reading the file first (and checking again,
 * unless `allowOlder`: another import may have recorded a newer one meanwhile). Returns how to
 * put the file back as it was, for an import that fails after this point.
 */
export function recordImport(
  file: string,
  candidate: ImportCandidate,
  options: { allowOlder: boolean },
): () => void {
  const previous = readText(file);
  const history = parseHistory(previous, file);
  if (!options.allowOlder) checkNewer(history, candidate);
  const { header, headerHash } = candidate;
  history.set(header.signer, {
    sequence: header.sequence,
    createdAt: header.createdAt,
    headerHash,
    deployment: header.deployment,
    importedAt: new Date().toISOString(),
  });
  write(file, `${JSON.stringify({ version: 1, signers: Object.fromEntries(history) }, null, 2)}\n`);
  return () => {
    if (previous === undefined) rmSync(file, { force: true });
    else write(file, previous);
  };
}

function write(file: string, text: string): void {
  try {
    writeFileAtomic(file, text);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw ERRORS.STRONGROOM_ERR_TRUST_STATE(`cannot write ${file} (${code})`);
  }
}

/** The file's text, undefined when there is none; refused when others may write it. */
function readText(file: string): string | undefined {
  try {
    const writableByOthers = (lstatSync(file).mode & 0o022) !== 0;
    if (!writableByOthers) return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    if (code === "ENOENT") return undefined;
    throw ERRORS.STRONGROOM_ERR_TRUST_STATE(`cannot read ${file} (${code})`);
  }
  throw ERRORS.STRONGROOM_ERR_TRUST_STATE(
    `${file} is writable by other users: run \`chmod 600 ${file}\``,
  );
}

const describe = (bundle: { sequence: number | null; createdAt: string }) =>
  bundle.sequence === null
    ? `created ${bundle.createdAt}`
    : `sequence ${bundle.sequence} (created ${bundle.createdAt})`;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function isImportedBundle(value: unknown): value is ImportedBundle {
  if (!isObject(value)) return false;
  const { sequence, createdAt, headerHash, deployment, importedAt } = value;
  return (
    (sequence === null || isSequence(sequence)) &&
    typeof createdAt === "string" &&
    isIsoTime(createdAt) &&
    typeof headerHash === "string" &&
    /^[0-9a-f]{64}$/.test(headerHash) &&
    (deployment === null || typeof deployment === "string") &&
    typeof importedAt === "string"
  );
}

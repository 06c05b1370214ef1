/** Pure helpers shared by every StorageView implementation. */

/** Immediate children of `prefix` among sorted full keys, folders with a trailing "/". */
export function childrenOf(prefix: string, keys: Iterable<string>): string[] {
  const children = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    if (rest === "") continue;
    const slash = rest.indexOf("/");
    children.add(slash === -1 ? rest : rest.slice(0, slash + 1));
  }
  return [...children].sort();
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
export const encodeJSON = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));
export const decodeJSON = <T>(bytes: Uint8Array): T => JSON.parse(decoder.decode(bytes)) as T;

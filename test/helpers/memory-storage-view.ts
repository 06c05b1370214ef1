import {
  childrenOf,
  decodeJSON,
  encodeJSON,
} from "../../src/embedded-vault/storage/view-helpers.js";
import type { StorageView } from "../../src/embedded-vault/types.js";

/** A plain in-memory StorageView for unit tests of backends (no barrier, no durability). */
export function memoryStorageView(
  store: Map<string, Uint8Array> = new Map(),
  prefix = "",
): StorageView & { store: Map<string, Uint8Array> } {
  const full = (key: string) => prefix + key;
  const relativeKeys = (under: string) =>
    [...store.keys()]
      .filter((k) => k.startsWith(prefix + under))
      .map((k) => k.slice(prefix.length))
      .sort();
  return {
    store,
    get: (key) => store.get(full(key)),
    getJSON: <T>(key: string) => {
      const bytes = store.get(full(key));
      return bytes === undefined ? undefined : decodeJSON<T>(bytes);
    },
    put: (key, value) => void store.set(full(key), value),
    putJSON: (key, value) => void store.set(full(key), encodeJSON(value)),
    delete: (key) => void store.delete(full(key)),
    list: (under) => childrenOf(under, relativeKeys(under)),
    listRecursive: (under) => relativeKeys(under),
    sub: (more) => memoryStorageView(store, prefix + more),
  };
}

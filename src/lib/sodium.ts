import sodium from "libsodium-wrappers";

/** libsodium must finish loading its WebAssembly before any call; every user awaits this once. */
export async function loadSodium(): Promise<typeof sodium> {
  await sodium.ready;
  return sodium;
}

export { sodium };

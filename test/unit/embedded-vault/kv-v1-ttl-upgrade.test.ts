import { describe, expect, it } from "vitest";
import { createKvBackend, upgradeKvV1ToV2 } from "../../../src/embedded-vault/backends/kv.js";
import type { Operation } from "../../../src/embedded-vault/types.js";
import { logicalRequest, testMount } from "../../helpers/logical-request.js";
import { memoryStorageView } from "../../helpers/memory-storage-view.js";

function kvOn(options: Record<string, string> | null, config: Record<string, unknown> = {}) {
  const storage = memoryStorageView();
  const backend = createKvBackend();
  const mount = testMount({ options, config });
  const request = (operation: Operation, path: string, data: Record<string, unknown> = {}) => {
    const response = backend.handle(logicalRequest({ operation, path, storage, mount, data }));
    if (response instanceof Promise) throw new Error("handle() must stay synchronous");
    return response;
  };
  return { storage, mount, request };
}

describe("kv v1 read TTL (Vault's passthrough: a TTL without a lease)", () => {
  it("reports the system default of 768h when neither the entry nor the mount sets one", () => {
    const kv = kvOn({ version: "1" });
    kv.request("create", "a", { v: "1" });
    expect(kv.request("read", "a").leaseDuration).toBe(2_764_800);
  });

  it("reports the mount's default_lease_ttl when tuned", () => {
    const kv = kvOn({ version: "1" }, { default_lease_ttl: 600 });
    kv.request("create", "a", { v: "1" });
    expect(kv.request("read", "a").leaseDuration).toBe(600);
  });

  it("reports the entry's own ttl (or legacy lease) field when it parses", () => {
    const kv = kvOn({ version: "1" });
    kv.request("create", "ttl", { v: "1", ttl: "1h" });
    kv.request("create", "lease", { v: "1", lease: 90 });
    kv.request("create", "bad", { v: "1", ttl: "soon" });
    expect(kv.request("read", "ttl").leaseDuration).toBe(3600);
    expect(kv.request("read", "lease").leaseDuration).toBe(90);
    expect(kv.request("read", "bad").leaseDuration).toBe(2_764_800);
  });
});

describe("upgradeKvV1ToV2 (sys/mounts/<path>/tune options.version 1 -> 2)", () => {
  it("turns every v1 entry into version 1 of a v2 secret, keys that look like v2 layout included", () => {
    const v1 = kvOn({ version: "1" });
    v1.request("create", "app/db", { password: "pw" });
    v1.request("create", "config", { looks: "like the v2 config key" });
    v1.request("create", "meta/x", { looks: "like v2 metadata" });
    expect(upgradeKvV1ToV2(v1.storage, new Date())).toBe(3);

    const backend = createKvBackend();
    const mount = testMount({ options: { version: "2" } });
    const read = (path: string) =>
      backend.handle(logicalRequest({ operation: "read", path, storage: v1.storage, mount }));
    for (const [key, data] of [
      ["app/db", { password: "pw" }],
      ["config", { looks: "like the v2 config key" }],
      ["meta/x", { looks: "like v2 metadata" }],
    ] as const) {
      const response = read(`data/${key}`) as {
        data: { data: unknown; metadata: { version: number } };
      };
      expect(response.data.data).toEqual(data);
      expect(response.data.metadata.version).toBe(1);
    }
    const list = backend.handle(
      logicalRequest({ operation: "list", path: "metadata/", storage: v1.storage, mount }),
    ) as { data: { keys: string[] } };
    expect(list.data.keys).toEqual(["app/", "config", "meta/"]);
  });

  it("leaves an empty mount empty", () => {
    const v1 = kvOn({ version: "1" });
    expect(upgradeKvV1ToV2(v1.storage, new Date())).toBe(0);
    expect(v1.storage.listRecursive("")).toEqual([]);
  });
});

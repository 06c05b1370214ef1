import { describe, expect, it } from "vitest";
import { createKvBackend } from "../../../src/embedded-vault/backends/kv.js";
import { VaultError } from "../../../src/embedded-vault/errors.js";
import type { Operation } from "../../../src/embedded-vault/types.js";
import { logicalRequest, testMount } from "../../helpers/logical-request.js";
import { memoryStorageView } from "../../helpers/memory-storage-view.js";

function setup(options: Record<string, string> | null = null) {
  const storage = memoryStorageView();
  const backend = createKvBackend();
  const mount = testMount({ options });
  const build = (operation: Operation, path: string, data: Record<string, unknown> = {}) =>
    logicalRequest({ operation, path, storage, mount, data });
  /** Resolves POST/PUT into create/update through exists(), as the core does. */
  function request(operation: Operation, path: string, data: Record<string, unknown> = {}) {
    const req = build(operation, path, data);
    if (operation === "create" || operation === "update") {
      req.operation = backend.exists?.(req) ? "update" : "create";
    }
    const response = backend.handle(req);
    if (response instanceof Promise) throw new Error("handle() must stay synchronous");
    return response;
  }
  return { storage, backend, build, request };
}

function vaultError(fn: () => unknown): VaultError {
  try {
    fn();
  } catch (error) {
    if (error instanceof VaultError) return error;
    throw error;
  }
  throw new Error("expected a VaultError");
}

describe("kv v1", () => {
  it("stores the body as is and reads it back as data", () => {
    const kv = setup();
    expect(kv.request("create", "app/db", { password: "pw", port: 5432 })).toEqual({});
    expect(kv.request("read", "app/db")).toEqual({
      data: { password: "pw", port: 5432 },
      leaseDuration: 2_764_800,
    });
    kv.request("update", "app/db", { password: "pw2" });
    expect(kv.request("read", "app/db").data).toEqual({ password: "pw2" });
  });

  it("round-trips a castellan record exactly, nulls included", () => {
    const kv = setup({ version: "1" });
    const record = {
      type: "symmetric",
      value: "00ff10ab",
      algorithm: "AES",
      bit_length: 256,
      name: null,
      created: null,
    };
    kv.request("create", "0123456789abcdef0123456789abcdef", record);
    const data = kv.request("read", "0123456789abcdef0123456789abcdef").data;
    expect(data).toStrictEqual(record);
    expect(JSON.stringify(data)).toBe(JSON.stringify(record));
  });

  it("answers 404 with an empty error list for a missing key", () => {
    const kv = setup();
    const error = vaultError(() => kv.request("read", "missing"));
    expect(error.status).toBe(404);
    expect(error.errors).toEqual([]);
  });

  it("rejects an empty body and an empty path", () => {
    const kv = setup();
    expect(vaultError(() => kv.request("create", "k", {})).errors).toEqual(["missing data fields"]);
    expect(vaultError(() => kv.request("create", "", { a: 1 })).errors).toEqual(["missing path"]);
  });

  it("lists keys and folders, 404 when empty", () => {
    const kv = setup();
    expect(vaultError(() => kv.request("list", "")).status).toBe(404);
    kv.request("create", "top", { v: 1 });
    kv.request("create", "app/db", { v: 1 });
    kv.request("create", "app/deep/x", { v: 1 });
    expect(kv.request("list", "").data).toEqual({ keys: ["app/", "top"] });
    expect(kv.request("list", "app/").data).toEqual({ keys: ["db", "deep/"] });
    expect(kv.request("list", "app").data).toEqual({ keys: ["db", "deep/"] });
    expect(vaultError(() => kv.request("list", "none/")).status).toBe(404);
  });

  it("deletes keys (204 even when absent)", () => {
    const kv = setup();
    kv.request("create", "k", { v: 1 });
    expect(kv.request("delete", "k")).toEqual({});
    expect(vaultError(() => kv.request("read", "k")).status).toBe(404);
    expect(kv.request("delete", "k")).toEqual({});
    expect(vaultError(() => kv.request("list", "")).status).toBe(404);
  });

  it("existence-checks on the stored key", () => {
    const kv = setup();
    expect(kv.backend.exists?.(kv.build("update", "k"))).toBe(false);
    kv.request("create", "k", { v: 1 });
    expect(kv.backend.exists?.(kv.build("update", "k"))).toBe(true);
  });

  it("does not support patch", () => {
    const kv = setup();
    kv.request("create", "k", { v: 1 });
    expect(vaultError(() => kv.request("patch", "k", { v: 2 })).status).toBe(405);
  });

  it("treats KV v2-looking paths as plain keys", () => {
    const kv = setup();
    kv.request("create", "data/k", { data: { a: 1 } });
    expect(kv.request("read", "data/k").data).toEqual({ data: { a: 1 } });
  });
});

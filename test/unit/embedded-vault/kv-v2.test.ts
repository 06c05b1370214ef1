import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createKvBackend } from "../../../src/embedded-vault/backends/kv.js";
import {
  formatDurationSeconds,
  formatTimestamp,
  parseDurationSeconds,
  parseGoDuration,
  parseTimestamp,
} from "../../../src/embedded-vault/backends/kv-time.js";
import { VaultError } from "../../../src/embedded-vault/errors.js";
import type { LogicalResponse, Operation } from "../../../src/embedded-vault/types.js";
import { logicalRequest, testMount } from "../../helpers/logical-request.js";
import { memoryStorageView } from "../../helpers/memory-storage-view.js";

const T0 = new Date("2024-05-01T12:00:00.000Z");
const RFC3339_NANO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const ROOT_WARNING = "Non-listing operations on the root of a K/V v2 mount are not supported.";
type Json = Record<string, unknown>;

function setup() {
  const storage = memoryStorageView();
  const backend = createKvBackend();
  const mount = testMount({ options: { version: "2" } });
  let now = T0;
  /** Resolves POST/PUT into create/update through exists(), as the core does. */
  function request(
    operation: Operation,
    path: string,
    data: Json = {},
    query: Record<string, string> = {},
  ) {
    const req = logicalRequest({ operation, path, storage, mount, data, query, now });
    if (operation === "create" || operation === "update") {
      req.operation = backend.exists?.(req) ? "update" : "create";
    }
    const response = backend.handle(req);
    if (response instanceof Promise) throw new Error("handle() must stay synchronous");
    return response;
  }
  return {
    storage,
    backend,
    request,
    write: (path: string, data: unknown, options?: Json) =>
      request("update", `data/${path}`, options ? { data, options } : { data }),
    read: (path: string, version?: number) =>
      request("read", `data/${path}`, {}, version ? { version: String(version) } : {}),
    readData: (path: string, version?: number) =>
      (
        request("read", `data/${path}`, {}, version ? { version: String(version) } : {})
          .data as Json
      ).data,
    metadata: (path: string) => request("read", `metadata/${path}`).data as Json,
    list: (path: string) => request("list", `metadata/${path}`).data as Json,
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
  };
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

const expectNotFound = (fn: () => unknown) => {
  const error = vaultError(fn);
  expect(error.status).toBe(404);
  expect(error.errors).toEqual([]);
  expect(error.envelopeData).toBeUndefined();
};

const expectBadRequest = (fn: () => unknown, message: string) => {
  const error = vaultError(fn);
  expect(error.status).toBe(400);
  expect(error.errors).toEqual([message]);
};

describe("kv v2 data", () => {
  it("writes versions that increment and answers with the version metadata", () => {
    const kv = setup();
    const first = kv.write("app/db", { password: "one" });
    expect(first.data).toEqual({
      created_time: expect.stringMatching(RFC3339_NANO),
      custom_metadata: null,
      deletion_time: "",
      destroyed: false,
      version: 1,
    });
    expect(first.status).toBeUndefined();
    expect(kv.write("app/db", { password: "two" }).data).toMatchObject({ version: 2 });
    const read = kv.read("app/db").data as Json;
    expect(read.data).toEqual({ password: "two" });
    expect(read.metadata).toEqual({
      created_time: expect.stringMatching(RFC3339_NANO),
      custom_metadata: null,
      deletion_time: "",
      destroyed: false,
      version: 2,
    });
  });

  it("reads an older version with ?version=N and treats 0 as latest", () => {
    const kv = setup();
    kv.write("k", { v: 1 });
    kv.write("k", { v: 2 });
    expect(kv.readData("k", 1)).toEqual({ v: 1 });
    expect(kv.request("read", "data/k", {}, { version: "0" }).data).toMatchObject({
      data: { v: 2 },
    });
    expectBadRequest(
      () => kv.request("read", "data/k", {}, { version: "x" }),
      'error converting input for field "version"',
    );
  });

  it("answers 404 with an empty error list for an unknown key or version", () => {
    const kv = setup();
    expectNotFound(() => kv.read("missing"));
    kv.write("k", { v: 1 });
    expectNotFound(() => kv.read("k", 7));
  });

  it("requires data to be an object", () => {
    const kv = setup();
    expectBadRequest(() => kv.request("update", "data/k", {}), "no data provided");
    expectBadRequest(() => kv.request("update", "data/k", { data: null }), "no data provided");
    expectBadRequest(
      () => kv.request("update", "data/k", { data: "s3cret" }),
      'error converting input for field "data"',
    );
    expect(kv.write("k", {}).data).toMatchObject({ version: 1 });
  });

  it("round-trips a castellan record exactly, nulls included", () => {
    const kv = setup();
    const record = {
      type: "passphrase",
      value: "68696464656e",
      algorithm: null,
      bit_length: null,
      name: "x",
      created: 1700000000,
    };
    kv.write("4f1c9b2e8a7d4c3b9e2f1a0d5c6b7e8f", record);
    const data = kv.readData("4f1c9b2e8a7d4c3b9e2f1a0d5c6b7e8f");
    expect(data).toStrictEqual(record);
    expect(JSON.stringify(data)).toBe(JSON.stringify(record));
  });

  it("is synchronous and existence-checks on metadata", () => {
    const kv = setup();
    const req = (path: string) =>
      logicalRequest({
        operation: "update",
        path,
        storage: kv.storage,
        mount: testMount({ options: { version: "2" } }),
      });
    expect(kv.backend.exists?.(req("data/k"))).toBe(false);
    expect(kv.backend.exists?.(req("metadata/k"))).toBe(false);
    expect(kv.backend.exists?.(req("config"))).toBe(true);
    expect(kv.backend.exists?.(req("destroy/k"))).toBe(true);
    kv.write("k", { a: 1 });
    expect(kv.backend.exists?.(req("data/k"))).toBe(true);
    expect(kv.backend.exists?.(req("metadata/k"))).toBe(true);
  });
});

describe("kv v2 check-and-set", () => {
  it("allows writes without cas unless required", () => {
    const kv = setup();
    kv.write("k", { a: 1 }, {});
    expect(kv.write("k", { a: 2 }).data).toMatchObject({ version: 2 });
  });

  it("cas 0 writes only a key without versions", () => {
    const kv = setup();
    expect(kv.write("k", { a: 1 }, { cas: 0 }).data).toMatchObject({ version: 1 });
    expectBadRequest(
      () => kv.write("k", { a: 2 }, { cas: 0 }),
      "check-and-set parameter did not match the current version",
    );
  });

  it("cas N writes only when the current version is N", () => {
    const kv = setup();
    kv.write("k", { a: 1 });
    kv.write("k", { a: 2 });
    expectBadRequest(
      () => kv.write("k", { a: 3 }, { cas: 1 }),
      "check-and-set parameter did not match the current version",
    );
    expectBadRequest(
      () => kv.write("new", { a: 3 }, { cas: 1 }),
      "check-and-set parameter did not match the current version",
    );
    expect(kv.write("k", { a: 3 }, { cas: 2 }).data).toMatchObject({ version: 3 });
    expect(kv.write("k", { a: 4 }, { cas: "3" }).data).toMatchObject({ version: 4 });
    expectBadRequest(
      () => kv.write("k", { a: 5 }, { cas: "four" }),
      "error parsing check-and-set parameter",
    );
  });

  it("counts a soft-deleted latest version for cas", () => {
    const kv = setup();
    kv.write("k", { a: 1 });
    kv.request("delete", "data/k");
    expectBadRequest(
      () => kv.write("k", { a: 2 }, { cas: 0 }),
      "check-and-set parameter did not match the current version",
    );
    expect(kv.write("k", { a: 2 }, { cas: 1 }).data).toMatchObject({ version: 2 });
  });

  it("requires cas when the engine config says so", () => {
    const kv = setup();
    kv.request("update", "config", { cas_required: true });
    expectBadRequest(
      () => kv.write("k", { a: 1 }),
      "check-and-set parameter required for this call",
    );
    expect(kv.write("k", { a: 1 }, { cas: 0 }).data).toMatchObject({ version: 1 });
  });

  it("requires cas when the key's metadata says so, and warns when config overrides false", () => {
    const kv = setup();
    kv.request("update", "metadata/k", { cas_required: true });
    expectBadRequest(
      () => kv.write("k", { a: 1 }),
      "check-and-set parameter required for this call",
    );
    expect(kv.write("k", { a: 1 }, { cas: 0 }).data).toMatchObject({ version: 1 });
    expect(kv.write("other", { a: 1 }).data).toMatchObject({ version: 1 });

    kv.request("update", "config", { cas_required: true });
    expect(kv.request("update", "metadata/k", { cas_required: false }).warnings).toEqual([
      '"cas_required" set to false, but is mandated by backend config. This value will be ignored.',
    ]);
  });
});

describe("kv v2 max_versions", () => {
  it("keeps 10 versions by default and advances oldest_version", () => {
    const kv = setup();
    for (let i = 1; i <= 12; i++) kv.write("k", { i });
    const meta = kv.metadata("k");
    expect(meta.current_version).toBe(12);
    expect(meta.oldest_version).toBe(3);
    expect(Object.keys(meta.versions as Json).map(Number)).toEqual([
      3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ]);
    expectNotFound(() => kv.read("k", 2));
    expect(kv.readData("k", 3)).toEqual({ i: 3 });
  });

  it("prunes data of versions beyond the engine's max_versions", () => {
    const kv = setup();
    kv.request("update", "config", { max_versions: 3 });
    for (let i = 1; i <= 5; i++) kv.write("k", { i });
    const meta = kv.metadata("k");
    expect(meta.oldest_version).toBe(3);
    expect(Object.keys(meta.versions as Json)).toEqual(["3", "4", "5"]);
    expect(kv.storage.listRecursive("versions/").sort()).toEqual([
      "versions/k/3",
      "versions/k/4",
      "versions/k/5",
    ]);
    expectNotFound(() => kv.read("k", 1));
  });

  it("uses the greater of key and engine max_versions, pruning on the next write", () => {
    const kv = setup();
    kv.request("update", "metadata/k", { max_versions: 2 });
    for (let i = 1; i <= 3; i++) kv.write("k", { i });
    expect(Object.keys(kv.metadata("k").versions as Json)).toEqual(["2", "3"]);

    kv.request("update", "config", { max_versions: 4 });
    for (let i = 4; i <= 6; i++) kv.write("k", { i });
    expect(Object.keys(kv.metadata("k").versions as Json)).toEqual(["3", "4", "5", "6"]);

    kv.request("update", "config", { max_versions: 0 });
    kv.request("update", "metadata/k", { max_versions: 1 });
    kv.write("k", { i: 7 });
    const meta = kv.metadata("k");
    expect(Object.keys(meta.versions as Json)).toEqual(["7"]);
    expect(meta.oldest_version).toBe(7);
    expect(kv.storage.listRecursive("versions/")).toEqual(["versions/k/7"]);
  });
});

describe("kv v2 delete, undelete, destroy", () => {
  it("soft-deletes the latest version: 404 whose envelope holds the metadata", () => {
    const kv = setup();
    kv.write("k", { a: 1 });
    kv.write("k", { a: 2 });
    kv.advance(1000);
    expect(kv.request("delete", "data/k")).toEqual({});
    const error = vaultError(() => kv.read("k"));
    expect(error.status).toBe(404);
    expect(error.errors).toEqual([]);
    expect(error.envelopeData).toEqual({
      data: null,
      metadata: {
        created_time: expect.stringMatching(RFC3339_NANO),
        custom_metadata: null,
        deletion_time: expect.stringMatching(/^2024-05-01T12:00:01(\.\d+)?Z$/),
        destroyed: false,
        version: 2,
      },
    });
    expect(kv.readData("k", 1)).toEqual({ a: 1 });

    const deletedAt = (kv.metadata("k").versions as Record<string, Json>)["2"]?.deletion_time;
    kv.advance(1000);
    kv.request("delete", "data/k");
    expect((kv.metadata("k").versions as Record<string, Json>)["2"]?.deletion_time).toBe(deletedAt);
    expect(kv.request("delete", "data/never-written")).toEqual({});
  });

  it("deletes and undeletes listed versions", () => {
    const kv = setup();
    kv.write("k", { a: 1 });
    kv.write("k", { a: 2 });
    expect(kv.request("update", "delete/k", { versions: [1, 2, 9] })).toEqual({});
    expect(vaultError(() => kv.read("k", 1)).envelopeData).toMatchObject({ data: null });
    expect(vaultError(() => kv.read("k")).envelopeData).toMatchObject({ metadata: { version: 2 } });
    kv.request("update", "undelete/k", { versions: "1,2" });
    expect(kv.readData("k", 1)).toEqual({ a: 1 });
    expect(kv.readData("k")).toEqual({ a: 2 });
    expect(kv.request("update", "delete/missing", { versions: [1] })).toEqual({});
  });

  it("destroys versions permanently", () => {
    const kv = setup();
    kv.write("k", { a: 1 });
    kv.write("k", { a: 2 });
    kv.request("update", "destroy/k", { versions: [1] });
    expect(kv.storage.get("versions/k/1")).toBeUndefined();
    const error = vaultError(() => kv.read("k", 1));
    expect(error.status).toBe(404);
    expect(error.envelopeData).toEqual({
      data: null,
      metadata: expect.objectContaining({ destroyed: true, deletion_time: "", version: 1 }),
    });
    kv.request("update", "undelete/k", { versions: [1] });
    expect(vaultError(() => kv.read("k", 1)).status).toBe(404);
    expect((kv.metadata("k").versions as Record<string, Json>)["1"]).toMatchObject({
      destroyed: true,
    });
    expect(kv.readData("k")).toEqual({ a: 2 });
  });

  it("requires version numbers", () => {
    const kv = setup();
    kv.write("k", { a: 1 });
    expectBadRequest(() => kv.request("update", "delete/k", {}), "No version number provided");
    expectBadRequest(
      () => kv.request("update", "undelete/k", { versions: [] }),
      "No version number provided",
    );
    expectBadRequest(
      () => kv.request("update", "destroy/k", { versions: [] }),
      "no version number provided",
    );
    expectBadRequest(
      () => kv.request("update", "destroy/k", { versions: ["one"] }),
      'error converting input for field "versions"',
    );
  });
});

describe("kv v2 metadata", () => {
  it("reads the key's metadata", () => {
    const kv = setup();
    kv.write("app/db", { a: 1 });
    kv.advance(5);
    kv.write("app/db", { a: 2 });
    const meta = kv.metadata("app/db");
    expect(meta).toEqual({
      cas_required: false,
      created_time: expect.stringMatching(RFC3339_NANO),
      current_version: 2,
      custom_metadata: null,
      delete_version_after: "0s",
      max_versions: 0,
      oldest_version: 0,
      updated_time: expect.stringMatching(RFC3339_NANO),
      versions: {
        "1": { created_time: meta.created_time, deletion_time: "", destroyed: false },
        "2": { created_time: meta.updated_time, deletion_time: "", destroyed: false },
      },
    });
    expect(meta.created_time).not.toBe(meta.updated_time);
    expectNotFound(() => kv.metadata("nope"));
  });

  it("writes settings and custom metadata, creating a version-less entry", () => {
    const kv = setup();
    const response = kv.request("create", "metadata/svc", {
      max_versions: 5,
      cas_required: false,
      delete_version_after: "1h30m",
      custom_metadata: { owner: "ops", count: 3, on: true },
    });
    expect(response).toEqual({});
    expect(kv.metadata("svc")).toMatchObject({
      current_version: 0,
      max_versions: 5,
      delete_version_after: "1h30m0s",
      custom_metadata: { owner: "ops", count: "3", on: "1" },
      versions: {},
    });
    expectNotFound(() => kv.read("svc"));
    expect(kv.list("")).toEqual({ keys: ["svc"] });
    expect(kv.write("svc", { a: 1 }, { cas: 0 }).data).toMatchObject({
      version: 1,
      custom_metadata: { owner: "ops", count: "3", on: "1" },
    });
    expect((kv.read("svc").data as Json).metadata).toMatchObject({
      custom_metadata: { owner: "ops" },
    });
  });

  it("does not create an entry for a write without settings", () => {
    const kv = setup();
    expect(kv.request("update", "metadata/empty", {})).toEqual({});
    expectNotFound(() => kv.metadata("empty"));
  });

  it("validates custom_metadata without echoing values", () => {
    const kv = setup();
    const error = vaultError(() =>
      kv.request("update", "metadata/k", { custom_metadata: { token: "", ok: "x" } }),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([
      '1 error occurred:\n\t* custom_metadata validation failed: length of value for key "token" is 0 but must be 0 < len(value) <= 512\n\n',
    ]);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
    expect(
      vaultError(() => kv.request("update", "metadata/k", { custom_metadata: many })).errors[0],
    ).toContain("payload must contain at most 64 keys, provided 65");
    const hidden = vaultError(() =>
      kv.request("update", "metadata/k", { custom_metadata: { k: "s3cret\u0007" } }),
    );
    expect(hidden.errors[0]).toContain('value for key "k" contains unprintable characters');
    expect(hidden.errors[0]).not.toContain("s3cret");
    expectBadRequest(
      () => kv.request("update", "metadata/k", { delete_version_after: "-1h" }),
      'error converting input for field "delete_version_after": cannot provide negative value',
    );
  });

  it("patches metadata as a JSON merge patch and 404s for a missing key", () => {
    const kv = setup();
    expectNotFound(() => kv.request("patch", "metadata/k", { max_versions: 3 }));
    kv.request("update", "metadata/k", {
      max_versions: 3,
      delete_version_after: "1h",
      custom_metadata: { a: "1", b: "2" },
    });
    kv.request("patch", "metadata/k", { custom_metadata: { b: null, c: "3" }, max_versions: null });
    expect(kv.metadata("k")).toMatchObject({
      max_versions: 0,
      delete_version_after: "1h0m0s",
      custom_metadata: { a: "1", c: "3" },
    });
    kv.request("patch", "metadata/k", { custom_metadata: null });
    expect(kv.metadata("k").custom_metadata).toBeNull();
  });

  it("deletes the metadata and every version, removing the key from listings", () => {
    const kv = setup();
    kv.write("app/a", { v: 1 });
    kv.write("app/a", { v: 2 });
    kv.write("app/b", { v: 1 });
    expect(kv.request("delete", "metadata/app/a")).toEqual({});
    expectNotFound(() => kv.read("app/a"));
    expectNotFound(() => kv.read("app/a", 1));
    expectNotFound(() => kv.metadata("app/a"));
    expect(kv.list("app/")).toEqual({ keys: ["b"] });
    expect(kv.storage.listRecursive("versions/app/a/")).toEqual([]);
    expect(kv.request("delete", "metadata/app/a")).toEqual({});
    kv.request("delete", "metadata/app/b");
    expectNotFound(() => kv.list(""));
  });
});

describe("kv v2 list", () => {
  it("lists keys and folders, with or without the trailing slash", () => {
    const kv = setup();
    kv.write("top", { v: 1 });
    kv.write("app/db", { v: 1 });
    kv.write("app/nested/x", { v: 1 });
    kv.write("app", { v: 1 });
    expect(kv.list("")).toEqual({ keys: ["app", "app/", "top"] });
    expect(kv.list("app/")).toEqual({ keys: ["db", "nested/"] });
    expect(kv.list("app")).toEqual({ keys: ["db", "nested/"] });
    expect(kv.request("list", "metadata").data).toEqual({ keys: ["app", "app/", "top"] });
  });

  it("answers 404 for an empty folder and keeps keys whose versions are all deleted", () => {
    const kv = setup();
    expectNotFound(() => kv.list(""));
    kv.write("gone", { v: 1 });
    kv.request("delete", "data/gone");
    expect(kv.list("")).toEqual({ keys: ["gone"] });
    kv.request("update", "destroy/gone", { versions: [1] });
    expect(kv.list("")).toEqual({ keys: ["gone"] });
    expectNotFound(() => kv.list("nothing/"));
  });
});

/** RFC 7396 §2's MergePatch pseudo-code, transcribed literally (mutating a copy of the target). */
function rfc7396(target: unknown, patch: unknown): unknown {
  const isObject = (v: unknown): v is Json =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(patch)) return patch;
  const out: Json = isObject(target) ? structuredClone(target) : {};
  for (const name of Object.keys(patch)) {
    if (patch[name] === null) delete out[name];
    else out[name] = rfc7396(out[name], patch[name]);
  }
  return out;
}

const jsonRoundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe("kv v2 patch", () => {
  it("merges onto the latest version: null deletes, objects merge, arrays replace", () => {
    const kv = setup();
    kv.write("k", { keep: 1, drop: 2, nested: { a: 1, b: 2 }, list: [1, 2] });
    const response = kv.request("patch", "data/k", {
      data: { drop: null, nested: { b: null, c: 3 }, list: [3], added: "x" },
      options: { cas: 1 },
    });
    expect(response.data).toMatchObject({ version: 2, deletion_time: "", destroyed: false });
    expect(kv.readData("k")).toEqual({ keep: 1, nested: { a: 1, c: 3 }, list: [3], added: "x" });
  });

  it("404s when the key is missing or its latest version is deleted or destroyed", () => {
    const kv = setup();
    expectNotFound(() => kv.request("patch", "data/k", { data: { a: 1 } }));
    kv.write("k", { a: 1 });
    kv.request("delete", "data/k");
    const deleted = vaultError(() => kv.request("patch", "data/k", { data: { a: 2 } }));
    expect(deleted.status).toBe(404);
    expect(deleted.envelopeData).toMatchObject({
      version: 1,
      destroyed: false,
      custom_metadata: null,
    });
    kv.write("k", { a: 2 });
    kv.request("update", "destroy/k", { versions: [2] });
    const destroyed = vaultError(() => kv.request("patch", "data/k", { data: { a: 3 } }));
    expect(destroyed.envelopeData).toMatchObject({ version: 2, destroyed: true });
  });

  it("checks cas and requires data", () => {
    const kv = setup();
    kv.write("k", { a: 1 });
    expectBadRequest(
      () => kv.request("patch", "data/k", { data: { a: 2 }, options: { cas: 5 } }),
      "check-and-set parameter did not match the current version",
    );
    expectBadRequest(() => kv.request("patch", "data/k", {}), "no data provided");
    kv.request("update", "config", { cas_required: true });
    expectBadRequest(
      () => kv.request("patch", "data/k", { data: { a: 2 } }),
      "check-and-set parameter required for this call",
    );
  });

  it("keeps a __proto__ key as data", () => {
    const kv = setup();
    kv.write("k", JSON.parse('{"a":1}'));
    kv.request("patch", "data/k", { data: JSON.parse('{"__proto__":{"polluted":true}}') });
    const data = kv.readData("k") as Json;
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(Object.hasOwn(data, "__proto__")).toBe(true);
    expect(({} as Json).polluted).toBeUndefined();
  });

  const key = fc.constantFrom("a", "b", "c", "d");
  const { json } = fc.letrec((tie) => ({
    json: fc.oneof(
      { depthSize: "small" },
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.string({ maxLength: 4 }),
      fc.array(tie("json"), { maxLength: 3 }),
      tie("object"),
    ),
    object: fc.dictionary(key, tie("json"), { maxKeys: 4 }),
  }));
  const object = fc.dictionary(key, json, { maxKeys: 4 }).map((o) => jsonRoundTrip(o) as Json);

  it("equals the RFC 7396 reference result (property)", () => {
    fc.assert(
      fc.property(object, object, (target, patch) => {
        const kv = setup();
        kv.write("k", target);
        kv.request("patch", "data/k", { data: patch });
        expect(kv.readData("k")).toEqual(jsonRoundTrip(rfc7396(target, patch)));
        kv.request("patch", "data/k", { data: patch });
        expect(kv.readData("k", 3)).toEqual(kv.readData("k", 2));
      }),
      { numRuns: 200 },
    );
  });
});

describe("kv v2 config and delete_version_after", () => {
  it("reads defaults and writes settings", () => {
    const kv = setup();
    expect(kv.request("read", "config").data).toEqual({
      cas_required: false,
      delete_version_after: "0s",
      max_versions: 0,
    });
    expect(
      kv.request("update", "config", {
        max_versions: "7",
        cas_required: "true",
        delete_version_after: 5400,
      }),
    ).toEqual({});
    expect(kv.request("read", "config").data).toEqual({
      cas_required: true,
      delete_version_after: "1h30m0s",
      max_versions: 7,
    });
    kv.request("update", "config", { delete_version_after: "-5m" });
    expect(kv.request("read", "config").data).toMatchObject({ delete_version_after: "-1s" });
    expectBadRequest(
      () => kv.request("update", "config", { delete_version_after: "soon" }),
      'error converting input for field "delete_version_after": invalid duration',
    );
    expect(() => kv.request("delete", "config")).toThrow(VaultError);
    expect(vaultError(() => kv.request("delete", "config")).status).toBe(405);
  });

  it("treats versions older than the engine's delete_version_after as deleted", () => {
    const kv = setup();
    kv.request("update", "config", { delete_version_after: "1h" });
    const written = kv.write("k", { a: 1 }).data as Json;
    expect(written.deletion_time).toMatch(/^2024-05-01T13:00:00(\.\d+)?Z$/);
    kv.advance(30 * 60_000);
    expect(kv.readData("k")).toEqual({ a: 1 });
    kv.advance(31 * 60_000);
    const error = vaultError(() => kv.read("k"));
    expect(error.status).toBe(404);
    expect(error.envelopeData).toMatchObject({
      data: null,
      metadata: { deletion_time: written.deletion_time },
    });
    // Undelete schedules the deletion again from now.
    kv.request("update", "undelete/k", { versions: [1] });
    expect(kv.readData("k")).toEqual({ a: 1 });
  });

  it("uses the smaller non-zero of key and engine settings, and none when the engine disables it", () => {
    const kv = setup();
    kv.request("update", "config", { delete_version_after: "2h" });
    kv.request("update", "metadata/k", { delete_version_after: "10m" });
    expect((kv.write("k", { a: 1 }).data as Json).deletion_time).toMatch(
      /^2024-05-01T12:10:00(\.\d+)?Z$/,
    );
    kv.request("update", "config", { delete_version_after: "-1s" });
    expect((kv.write("k", { a: 2 }).data as Json).deletion_time).toBe("");
  });
});

describe("kv v2 paths and warnings", () => {
  it("warns about unrecognized body parameters", () => {
    const kv = setup();
    const write = kv.request("update", "data/k", {
      data: { a: 1 },
      options: {},
      mount_point: "secret",
      zeta: 1,
      path: "k",
    });
    expect(write.warnings).toEqual([
      "Endpoint ignored these unrecognized parameters: [mount_point zeta]",
    ]);
    expect(write.data).toMatchObject({ version: 1 });
    expect(kv.request("update", "metadata/k", { max_versions: 2, extra: true }).warnings).toEqual([
      "Endpoint ignored these unrecognized parameters: [extra]",
    ]);
    expect(kv.request("update", "metadata/k", { extra: true }).warnings).toEqual([
      "Endpoint ignored these unrecognized parameters: [extra]",
    ]);
    expect(kv.request("update", "config", { bogus: 1 }).warnings).toHaveLength(1);
    expect(kv.request("update", "destroy/k", { versions: [1], x: 1 }).warnings).toHaveLength(1);
    expect(kv.write("k", { a: 2 }).warnings).toBeUndefined();
  });

  it("answers non-list operations on the root with Vault's warning and a 404", () => {
    const kv = setup();
    const root: LogicalResponse = { status: 404, warnings: [ROOT_WARNING] };
    expect(kv.request("read", "data/")).toEqual(root);
    expect(kv.request("read", "data")).toEqual(root);
    expect(kv.request("update", "data/", { data: { a: 1 } })).toEqual(root);
    expect(kv.request("read", "metadata/")).toEqual(root);
    expect(kv.request("update", "destroy/", { versions: [1] })).toEqual(root);
    expect(kv.storage.store.size).toBe(0);
  });

  it("answers unknown sub-paths with the invalid-path warning and a 404", () => {
    const kv = setup();
    const invalid = kv.request("read", "foo/bar");
    expect(invalid.status).toBe(404);
    expect(invalid.warnings?.[0]).toMatch(
      /^Invalid path for a versioned K\/V secrets engine\..*'vault kv get'/,
    );
    expect(kv.request("list", "data/").warnings?.[0]).toContain("'vault kv list'");
    expect(kv.request("read", "data/k/").status).toBe(404);
    expect(kv.request("read", "config/x").status).toBe(404);
  });

  it("answers 405 for an operation a path does not support", () => {
    const kv = setup();
    expect(vaultError(() => kv.request("list", "data/k")).status).toBe(405);
    expect(vaultError(() => kv.request("read", "destroy/k")).status).toBe(405);
    expect(vaultError(() => kv.request("update", "subkeys/k", {})).status).toBe(405);
  });
});

describe("kv v2 subkeys", () => {
  it("replaces leaves with null, honouring depth", () => {
    const kv = setup();
    kv.write("k", { user: "u", db: { host: "h", creds: { pw: "p" } }, empty: {} });
    expect(kv.request("read", "subkeys/k").data).toEqual({
      metadata: expect.objectContaining({ version: 1 }),
      subkeys: { user: null, db: { host: null, creds: { pw: null } }, empty: null },
    });
    expect((kv.request("read", "subkeys/k", {}, { depth: "1" }).data as Json).subkeys).toEqual({
      user: null,
      db: null,
      empty: null,
    });
    kv.request("delete", "data/k");
    expect(vaultError(() => kv.request("read", "subkeys/k")).envelopeData).toMatchObject({
      subkeys: null,
    });
  });
});

describe("kv time helpers", () => {
  it("formats RFC 3339 with Go's trimmed nanoseconds and parses it back", () => {
    const ns = BigInt(Date.parse("2018-03-22T02:24:06.945Z")) * 1_000_000n + 319_214n;
    expect(formatTimestamp(ns)).toBe("2018-03-22T02:24:06.945319214Z");
    expect(parseTimestamp("2018-03-22T02:24:06.945319214Z")).toBe(ns);
    expect(formatTimestamp(BigInt(Date.parse("2018-03-22T02:24:06Z")) * 1_000_000n)).toBe(
      "2018-03-22T02:24:06Z",
    );
    expect(formatTimestamp(BigInt(Date.parse("2018-03-22T02:24:06.5Z")) * 1_000_000n)).toBe(
      "2018-03-22T02:24:06.5Z",
    );
  });

  it("parses Go durations", () => {
    expect(parseGoDuration("1h30m")).toBe(5_400_000_000_000n);
    expect(parseGoDuration("1.5h")).toBe(5_400_000_000_000n);
    expect(parseGoDuration("-2m3.5s")).toBe(-123_500_000_000n);
    expect(parseGoDuration("300ms")).toBe(300_000_000n);
    expect(parseGoDuration("1\u00b5s")).toBe(1_000n);
    expect(parseGoDuration("0")).toBe(0n);
    for (const bad of ["", "1", "h", "1x", "1h ", ".s", "3000000h"])
      expect(parseGoDuration(bad)).toBeUndefined();
    expect(parseDurationSeconds("90")).toBe(90);
    expect(parseDurationSeconds("2d")).toBe(172_800);
    expect(parseDurationSeconds("1500ms")).toBe(1);
    expect(parseDurationSeconds(12.9)).toBe(12);
  });

  it("formats durations like Go's Duration.String", () => {
    expect([0, 45, 90, 3600, 5400, 86_400, -1].map(formatDurationSeconds)).toEqual([
      "0s",
      "45s",
      "1m30s",
      "1h0m0s",
      "1h30m0s",
      "24h0m0s",
      "-1s",
    ]);
  });
});

describe("kv version dispatch", () => {
  it("serves the flat v1 layout when the mount has no version option", () => {
    const storage = memoryStorageView();
    const backend = createKvBackend();
    const req = logicalRequest({
      operation: "create",
      path: "data/k",
      storage,
      mount: testMount(),
      data: { a: 1 },
    });
    expect(backend.handle(req)).toEqual({});
    expect(storage.getJSON("data/k")).toEqual({ a: 1 });
  });
});

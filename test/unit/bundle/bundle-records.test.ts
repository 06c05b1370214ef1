import { describe, expect, it } from "vitest";
import {
  type BundleRecord,
  decodeRecord,
  encodeRecord,
  recordCounts,
  type SecretRecord,
} from "../../../src/bundle/bundle-records.js";
import {
  checkIdentities,
  readContents,
  withCurrentNames,
} from "../../../src/bundle/import-store.js";
import { servicePolicyName, serviceRoleName } from "../../../src/vault/kv-layout.js";

const secret: SecretRecord = {
  kind: "secret",
  name: "NovaPassword",
  current_version: 3,
  oldest_version: 1,
  settings: {
    max_versions: 0,
    cas_required: false,
    delete_version_after: "0s",
    custom_metadata: null,
  },
  versions: [
    { version: 1, created_time: "t1", deletion_time: "", destroyed: true, data: null },
    {
      version: 3,
      created_time: "t3",
      deletion_time: "",
      destroyed: false,
      data: { value: "6869" },
    },
  ],
};
const head: BundleRecord[] = [
  { kind: "deployment", deployment: "overcloud", kvMount: "secret", services: [] },
  { kind: "manifest", deployment: "overcloud", file: "manifest.yaml", text: "deployment: x\n" },
];
const bytesOf = (value: unknown) => Buffer.from(JSON.stringify(value));

async function* stream(records: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* records;
}

describe("bundle records", () => {
  it("round-trip through their JSON encoding", () => {
    for (const record of [...head, secret]) {
      expect(decodeRecord(encodeRecord(record), 0)).toEqual(record);
    }
    expect(recordCounts(23)).toEqual({ records: 25, secrets: 23 });
  });

  it("refuse names that would become unsafe Vault paths, and malformed fields, in one line", () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...secret, name: "../manifest" }, /record 4: invalid secret name/],
      [{ ...secret, name: "a/b" }, /invalid secret name/],
      [{ ...head[0], deployment: "Over/Cloud" }, /invalid deployment name/],
      [{ ...secret, versions: [{ ...secret.versions[1], version: 5 }] }, /out of order/],
      [{ ...secret, versions: [secret.versions[1], secret.versions[0]] }, /out of order/],
      [{ ...secret, current_version: -1 }, /non-negative integer/],
      [{ kind: "rendered" }, /unknown kind/],
      [[1, 2], /not an object/],
    ];
    for (const [value, reason] of cases) {
      expect(() => decodeRecord(bytesOf(value), 3)).toThrow(reason);
    }
    expect(() => decodeRecord(Buffer.from("{nope"), 0)).toThrow(/record 1: not JSON/);
  });

  it("are read as deployment, manifest, then unique secrets matching the header's count", async () => {
    const good = [...head, secret].map(encodeRecord);
    const contents = await readContents(stream(good), { deployment: "overcloud", secrets: 1 });
    expect(contents.manifest.text).toBe("deployment: x\n");
    const names: string[] = [];
    for await (const s of contents.secrets) names.push(s.name);
    expect(names).toEqual(["NovaPassword"]);

    const collect = async (records: Uint8Array[], secrets: number) => {
      const read = await readContents(stream(records), { deployment: "overcloud", secrets });
      for await (const _ of read.secrets);
    };
    await expect(collect(good, 2)).rejects.toThrow(/holds 1 secrets, its header says 2/);
    await expect(collect([...good, encodeRecord(secret)], 2)).rejects.toThrow(/appears twice/);
    await expect(collect([good[1]!, good[0]!, good[2]!], 1)).rejects.toThrow(/does not start/);
    await expect(readContents(stream(good), { deployment: "edge1", secrets: 1 })).rejects.toThrow(
      /different deployments/,
    );
  });

  it("service identities must match what the manifest recreates", () => {
    const nova = { service: "nova", policy: "p", role: "r", secrets: ["A", "B"] };
    expect(() => checkIdentities([nova], [{ ...nova, secrets: ["B", "A"] }])).not.toThrow();
    expect(() => checkIdentities([nova], [{ ...nova, secrets: ["A"] }])).toThrow(/identities/);
    expect(() => checkIdentities([nova], [])).toThrow(/identities/);
  });

  it("a bundle from before the name separator names the same identities the old way", () => {
    const current = {
      service: "edge-nova",
      policy: servicePolicyName("site", "edge-nova"),
      role: serviceRoleName("site", "edge-nova"),
      secrets: ["A"],
    };
    const old = { ...current, policy: "strongroom-site-edge-nova", role: "site-edge-nova" };
    expect(() => checkIdentities([withCurrentNames("site", old)], [current])).not.toThrow();
    expect(withCurrentNames("site", current)).toEqual(current);
    // Only the old spelling of this deployment's own names is translated.
    const foreign = { ...current, policy: "strongroom-site-edge-nova", role: "other" };
    expect(() => checkIdentities([withCurrentNames("site", foreign)], [current])).toThrow(
      /identities/,
    );
  });
});

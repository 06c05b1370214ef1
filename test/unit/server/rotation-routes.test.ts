import { afterEach, describe, expect, it } from "vitest";
import { createMemoryRotations } from "../../helpers/memory-rotations.js";
import { asNova, asOperator, buildTestApp, errorOf, type TestApp } from "./test-app.js";

let t: TestApp;
afterEach(async () => {
  await t?.app.close();
});

async function withRotations() {
  const { rotations, keyManager } = await createMemoryRotations(
    "deployment: {name: test}\nsecrets:\n  AppPassword: {generator: {kind: alphanumeric, length: 16}}\n  KeystoneFernetKeys: {}\n",
    { AppPassword: "first-value" },
  );
  t = await buildTestApp({ rotations: { rotations, schedules: () => [] } });
  return { rotations, keyManager };
}

describe("rotation routes", () => {
  it("plan answers 200 and starts nothing; start answers 202 with the rotation; GET follows it", async () => {
    const { rotations, keyManager } = await withRotations();
    const plan = await t.app.inject({
      method: "POST",
      url: "/v1/rotations",
      headers: asOperator,
      payload: { secrets: ["AppPassword"], plan: true },
    });
    expect(plan.statusCode).toBe(200);
    expect(plan.json().plans[0]).toMatchObject({
      secret: "AppPassword",
      currentVersion: 1,
      targets: [],
    });

    const start = await t.app.inject({
      method: "POST",
      url: "/v1/rotations",
      headers: asOperator,
      payload: { secrets: ["AppPassword"] },
    });
    expect(start.statusCode).toBe(202);
    const id = start.json().rotations[0].id as string;
    await rotations.idle();
    const one = await t.app.inject({ url: `/v1/rotations/${id}`, headers: asOperator });
    expect(one.json()).toMatchObject({ id, status: "done", step: "done", toVersion: 2 });
    expect(one.body.includes(String((await keyManager.get("AppPassword"))?.value))).toBe(false);
    const list = await t.app.inject({ url: "/v1/rotations", headers: asOperator });
    expect(list.json()).toMatchObject({ rotations: [{ id }], schedules: [] });
  });

  it("answers with stable codes: refused 409, unknown 404, bad body 400, services 403", async () => {
    await withRotations();
    const post = (payload: unknown, headers: Record<string, string> = asOperator) =>
      t.app.inject({ method: "POST", url: "/v1/rotations", headers, payload: payload as object });
    const refused = await post({ secrets: ["KeystoneFernetKeys"] });
    expect(refused.statusCode).toBe(409);
    expect(errorOf(refused.body).code).toBe("STRONGROOM_ERR_ROTATION_REFUSED");
    expect((await post({ secrets: ["Nope"] })).statusCode).toBe(404);
    const both = await post({ secrets: ["AppPassword"], resume: "all" });
    expect(both.statusCode).toBe(400);
    expect(errorOf(both.body).message).toBe("give one of `secrets`, `resume` or `abort`");
    expect((await post({ secrets: ["bad name!"] })).statusCode).toBe(400);
    const missing = await t.app.inject({ url: "/v1/rotations/nope", headers: asOperator });
    expect(errorOf(missing.body).code).toBe("STRONGROOM_ERR_UNKNOWN_ROTATION");
    expect((await post({ secrets: ["AppPassword"] }, asNova)).statusCode).toBe(403);
    const abortUnknown = await post({ abort: "nope" });
    expect(abortUnknown.statusCode).toBe(404);
    expect(errorOf(abortUnknown.body).code).toBe("STRONGROOM_ERR_UNKNOWN_ROTATION");
    expect((await post({ abort: "nope", resume: "all" })).statusCode).toBe(400);
    expect((await post({ abort: "../etc" })).statusCode).toBe(400);
  });
});

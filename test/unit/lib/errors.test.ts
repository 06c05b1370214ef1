import { describe, expect, it } from "vitest";
import {
  BrokerAnswerError,
  ERROR_CATALOGUE,
  ERRORS,
  isErrorCode,
  StrongroomError,
  usageError,
} from "../../../src/lib/errors.js";

describe("the error catalogue", () => {
  it("makes every code's error with the catalogue's status and exit code", () => {
    for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
      const factory = ERRORS[code as keyof typeof ERRORS];
      const error = factory("what went wrong", { cause: "why" });
      expect(error).toBeInstanceOf(StrongroomError);
      expect(error).toMatchObject({
        code,
        statusCode: spec.status,
        exitCode: spec.exit,
        message: "what went wrong",
        cause: "why",
      });
      const { statusCode, exitCode } = factory;
      expect({ code: factory.code, statusCode, exitCode }).toEqual({
        code,
        statusCode: spec.status,
        exitCode: spec.exit,
      });
      expect([1, 2]).toContain(spec.exit);
      expect(spec.meaning).not.toContain("\n");
    }
  });

  it("tells a code's errors apart", () => {
    const error = ERRORS.STRONGROOM_ERR_CAS_MISMATCH("secret: changed");
    expect(ERRORS.STRONGROOM_ERR_CAS_MISMATCH.is(error)).toBe(true);
    expect(ERRORS.STRONGROOM_ERR_VAULT.is(error)).toBe(false);
    expect(ERRORS.STRONGROOM_ERR_CAS_MISMATCH.is(new Error("STRONGROOM_ERR_CAS_MISMATCH"))).toBe(
      false,
    );
  });

  it("keeps the CLI's shorthands", () => {
    expect(usageError("bad flag")).toMatchObject({
      code: "STRONGROOM_ERR_USAGE",
      statusCode: 400,
      exitCode: 2,
    });
  });

  it("knows its codes, and a typo does not compile", () => {
    expect(isErrorCode("STRONGROOM_ERR_STATE")).toBe(true);
    expect(isErrorCode("STRONGROOM_ERR_STAET")).toBe(false);
    // @ts-expect-error: not a catalogue code
    expect(() => ERRORS.STRONGROOM_ERR_STAET("x")).toThrow(TypeError);
    // @ts-expect-error: not a catalogue code
    expect(() => new StrongroomError("STRONGROOM_ERR_STAET", "x")).toThrow(TypeError);
  });
});

describe("BrokerAnswerError", () => {
  it("keeps the broker's code, message and status; 400 and 404 exit 2", () => {
    expect(
      new BrokerAnswerError(404, "STRONGROOM_ERR_UNKNOWN_OPTION", "nova has no option"),
    ).toMatchObject({
      code: "STRONGROOM_ERR_UNKNOWN_OPTION",
      message: "nova has no option",
      statusCode: 404,
      exitCode: 2,
    });
    expect(new BrokerAnswerError(400, "STRONGROOM_ERR_CONFIG", "bad")).toMatchObject({
      statusCode: 400,
      exitCode: 2,
    });
    expect(new BrokerAnswerError(409, "STRONGROOM_ERR_ROTATION_LOCKED", "held")).toMatchObject({
      statusCode: 409,
      exitCode: 1,
    });
  });

  it("answers without a known code are STRONGROOM_ERR_BROKER, naming the code they had", () => {
    expect(new BrokerAnswerError(502, undefined, "the broker answered HTTP 502")).toMatchObject({
      code: "STRONGROOM_ERR_BROKER",
      message: "the broker answered HTTP 502",
      exitCode: 1,
    });
    expect(new BrokerAnswerError(418, "STRONGROOM_ERR_NEWER", "teapot")).toMatchObject({
      code: "STRONGROOM_ERR_BROKER",
      message: "teapot (STRONGROOM_ERR_NEWER)",
    });
  });
});

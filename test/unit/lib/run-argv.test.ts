import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lastLine, runArgv, showArgv } from "../../../src/lib/run-argv.js";
import { useTempDirs } from "../../helpers/temp-dirs.js";

const tempDir = useTempDirs("run-argv-");

describe("runArgv", () => {
  it("passes the allow-listed environment, the caller's variables and the inherited names", async () => {
    process.env.STRONGROOM_TEST_SECRET = "not-for-children";
    process.env.RABBITMQ_NODENAME = "rabbit@test";
    try {
      const names = async (options: { env?: Record<string, string>; inherit?: RegExp }) =>
        (await runArgv(["env"], { timeoutMs: 10_000, ...options })).stdout
          .split("\n")
          .map((line) => line.split("=")[0]);
      const plain = await names({});
      expect(plain).toContain("PATH");
      expect(plain).not.toContain("STRONGROOM_TEST_SECRET");
      expect(plain).not.toContain("RABBITMQ_NODENAME");
      const given = await names({ env: { EXTRA: "1" }, inherit: /^RABBITMQ_/ });
      expect(given).toContain("EXTRA");
      expect(given).toContain("RABBITMQ_NODENAME");
      expect(given).not.toContain("STRONGROOM_TEST_SECRET");
    } finally {
      delete process.env.STRONGROOM_TEST_SECRET;
      delete process.env.RABBITMQ_NODENAME;
    }
  });

  it("runs argv without a shell and keeps the last line of each stream", async () => {
    const result = await runArgv(
      ["sh", "-c", 'echo one; echo two; echo "bad; rm -rf /" >&2; exit 4'],
      { timeoutMs: 10_000 },
    );
    expect(result).toMatchObject({
      code: 4,
      lastStdoutLine: "two",
      lastStderrLine: "bad; rm -rf /",
    });
    expect(result.stdout).toBe("one\ntwo\n");
    const piped = await runArgv(["cat"], { timeoutMs: 10_000, input: "on stdin, not in argv" });
    expect(piped).toMatchObject({ code: 0, stdout: "on stdin, not in argv" });
    await expect(runArgv(["echo hello"], { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: "ENOENT",
    });
  });

  it("returns once the command exits, even when a child it started keeps the pipes open", async () => {
    const dir = tempDir();
    const result = await runArgv(["sh", "-c", `sleep 120 & echo $! > "${dir}/pid"`], {
      timeoutMs: 10_000,
    });
    process.kill(Number(readFileSync(join(dir, "pid"), "utf8")), "SIGKILL");
    expect(result.code).toBe(0);
    expect(result.stopped).toBeUndefined();
  }, 20_000);

  it("reports a timeout and an abort", async () => {
    expect(await runArgv(["sleep", "60"], { timeoutMs: 200 })).toMatchObject({
      stopped: "timeout",
    });
    const controller = new AbortController();
    const running = runArgv(["sleep", "60"], { timeoutMs: 60_000, signal: controller.signal });
    controller.abort();
    expect(await running).toMatchObject({ stopped: "aborted", code: null });
  });
});

describe("one-line output", () => {
  it("keeps the last non-empty line, without control characters, truncated", () => {
    expect(lastLine("first\nsecond\r\n\n")).toBe("second");
    expect(lastLine("a\u001b[31mred\u0007")).toBe("a [31mred");
    expect(lastLine("x".repeat(300))).toBe(`${"x".repeat(200)}...`);
    expect(showArgv(["podman", "restart", "nova api"])).toBe('podman restart "nova api"');
  });
});

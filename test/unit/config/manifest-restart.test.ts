/** The manifest's restart, health and rolling stanzas (the rest is in manifest.test.ts). */
import { describe, expect, it } from "vitest";
import { ManifestError, parseManifest } from "../../../src/config/manifest.js";

const manifestWith = (...serviceLines: string[]) =>
  ["deployment:", "  name: test", "services:", "  svc:", ...serviceLines].join("\n") + "\n";

function problemsOf(text: string): string[] {
  try {
    parseManifest(text, "/etc/strongroom/m.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    return (err as ManifestError).problems.map((p) => `${p.line}:${p.col}: ${p.reason}`);
  }
  throw new Error("expected a ManifestError");
}

describe("restart, health and rolling stanzas", () => {
  it("read the rolling policy with its defaults", () => {
    const manifest = parseManifest(
      manifestWith("    rolling: { max_parallel: 3, timeout_seconds: 90 }"),
      "/etc/strongroom/m.yaml",
    );
    expect(manifest.services.get("svc")!.rolling).toEqual({
      maxParallel: 3,
      pauseSeconds: 0,
      timeoutSeconds: 90,
      confirmFetch: true,
    });
  });

  it("no longer accept batch_size", () => {
    expect(problemsOf(manifestWith("    rolling: { batch_size: 2 }"))).toEqual([
      expect.stringMatching(/^5:\d+: .*batch_size/),
    ]);
  });

  it("accept the built-in restarter kinds and check their parameters", () => {
    const manifest = parseManifest(
      manifestWith(
        "    restart: { kind: signal, pid_file: /run/svc.pid, signal: HUP }",
        "    health: { kind: http, url: 'https://127.0.0.1/', ca_file: ca.pem }",
      ),
      "/etc/strongroom/m.yaml",
    );
    const svc = manifest.services.get("svc")!;
    expect(svc.restart).toEqual({ kind: "signal", pid_file: "/run/svc.pid", signal: "HUP" });
    expect(svc.health).toMatchObject({ caFile: "/etc/strongroom/ca.pem" });
    expect(problemsOf(manifestWith("    restart: { kind: systemd, units: [a] }"))).toEqual([
      expect.stringMatching(/^5:\d+: .*units/),
    ]);
    expect(problemsOf(manifestWith("    restart: { kind: signal }"))).toHaveLength(1);
  });

  it("leave third-party restarter kinds to their driver", () => {
    const manifest = parseManifest(
      manifestWith("    restart: { kind: nomad, job: nova-api }"),
      "/etc/strongroom/m.yaml",
    );
    expect(manifest.services.get("svc")!.restart).toEqual({
      kind: "nomad",
      job: "nova-api",
    });
  });
});

import { readFileSync } from "node:fs";
import { Command } from "@commander-js/extra-typings";
import type { Static } from "typebox";
import { isProcessAlive } from "../../lib/process-alive.js";
import type { RotationListAnswer, SecretsListAnswer } from "../../server/wire.js";
import { modeOf, resolveStateDirPath, vaultCaFile } from "../../state/state-dir.js";
import { type BrokerClient, connectBroker } from "../broker-client.js";
import type { CliContext } from "../context.js";
import { jsonOption, printJson, stateDirOption } from "../shared-options.js";

export interface StatusReport {
  deployment: string;
  stateDir: string;
  broker: { url: string; pid: number | null; running: boolean; ready: boolean };
  vault: { kind: string; addr: string; kvMount: string; sealed: boolean | null };
  services: string[];
  secrets: number | null;
  /** Rotations not done nor rolled back (null: broker not ready), and what --resume does. */
  unfinishedRotations: Array<{ id: string; secret: string; status: string; step: string }> | null;
  /** Scheduled rotations whose last due run passed without one. */
  missedSchedules: Array<{ secret: string; missed: string }> | null;
}

export function statusCommand(context: CliContext) {
  return new Command("status")
    .summary("Show the broker, the Vault and the deployment of the state dir")
    .description(
      "Show the deployment served from the state dir: broker address and readiness, the Vault's kind,\n" +
        "address and seal state, the services and the number of secrets. Exits 1 when the broker is down.",
    )
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  strongroom status\n" +
        "  strongroom status --state-dir /var/lib/strongroom --json   # broker.running, vault.sealed, ...\n",
    )
    .action(async (options) => {
      const broker = connectBroker(resolveStateDirPath(options.stateDir, context.env.stateDir));
      const report = await collectStatus(broker);
      if (options.json) printJson(report);
      else printStatus(report);
      if (!report.broker.running) process.exitCode = 1;
    });
}

export async function collectStatus(broker: BrokerClient): Promise<StatusReport> {
  const { state, dir } = broker;
  const ready = await broker
    .send("GET", "/readyz")
    .then((r) => r.status === 200)
    .catch(() => false);
  const running = ready || (state.pid !== null && isProcessAlive(state.pid));
  const { createVaultClient } = await import("../../vault/vault-client.js");
  const { loadManifest } = await import("../../config/manifest.js");
  const caFile = vaultCaFile(dir, state);
  const vault = createVaultClient({
    addr: state.vault.addr,
    ca: caFile ? readFileSync(caFile) : undefined,
  });
  const sealed = await vault
    .status()
    .then((s: { sealed?: boolean }) => s.sealed === true)
    .catch(() => null);
  const secrets = ready
    ? await broker
        .json<Static<typeof SecretsListAnswer>>("GET", "/v1/secrets")
        .then((answer) => answer.secrets.length)
        .catch(() => null)
    : null;
  const rotations = ready
    ? await broker.json<Static<typeof RotationListAnswer>>("GET", "/v1/rotations").catch(() => null)
    : null;
  let services: string[] = [];
  try {
    services = [...loadManifest(state.manifest).services.keys()].sort();
  } catch {
    // the manifest moved: the rest of the status still helps
  }
  return {
    deployment: state.deployment,
    stateDir: dir.path,
    broker: { url: state.broker.url, pid: running ? state.pid : null, running, ready },
    vault: { ...state.vault, sealed },
    services,
    secrets,
    unfinishedRotations:
      rotations?.rotations
        .filter((r) => r.status !== "done" && r.status !== "rolled-back")
        .map(({ id, secret, status, step }) => ({ id, secret, status, step })) ?? null,
    missedSchedules:
      rotations?.schedules.flatMap((s) =>
        s.missed ? [{ secret: s.secret, missed: s.missed }] : [],
      ) ?? null,
  };
}

function printStatus(report: StatusReport): void {
  const { broker, vault } = report;
  const brokerState = broker.running
    ? `running, pid ${broker.pid}, ${broker.ready ? "ready" : "not ready"}`
    : "stopped";
  const vaultState = vault.sealed === null ? "unreachable" : vault.sealed ? "sealed" : "unsealed";
  const rows: Array<[string, string]> = [
    ["deployment", report.deployment],
    ["broker", `${broker.url} (${brokerState})`],
    ["vault", `${vault.kind} ${vault.addr} (${vaultState}, KV v2 at ${vault.kvMount}/)`],
    ["services", `${report.services.join(", ")} (${report.services.length})`],
    ["secrets", report.secrets === null ? "unknown (broker not ready)" : String(report.secrets)],
    ["rotations", unfinishedText(report)],
    ["schedules", missedText(report)],
    ["state dir", `${report.stateDir} (mode ${modeOf(report.stateDir).toString(8)})`],
  ];
  for (const [key, value] of rows) process.stdout.write(`${key.padEnd(11)}${value}\n`);
}

function unfinishedText({ unfinishedRotations: open }: StatusReport): string {
  if (open === null) return "unknown (broker not ready)";
  if (open.length === 0) return "none unfinished";
  return open
    .map((r) => `${r.secret} ${r.status} after ${r.step} (strongroom rotations ${r.id})`)
    .join("; ");
}

function missedText({ missedSchedules: missed }: StatusReport): string {
  if (missed === null) return "unknown (broker not ready)";
  if (missed.length === 0) return "none missed";
  return missed.map((m) => `${m.secret} MISSED ${m.missed}`).join("; ");
}

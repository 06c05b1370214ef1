import { Command } from "@commander-js/extra-typings";
import type { Static } from "typebox";
import type { RotationListAnswer } from "../../server/wire.js";
import { resolveStateDirPath } from "../../state/state-dir.js";
import { connectBroker } from "../broker-client.js";
import type { CliContext } from "../context.js";
import { jsonOption, printJson, stateDirOption } from "../shared-options.js";
import { type RotationView, summary } from "./rotate.js";

export function rotationsCommand(context: CliContext) {
  return new Command("rotations")
    .summary("Show rotation history, state and schedules")
    .description(
      "Rotation history and state: every rotation with its last persisted step, or one in detail\n" +
        "(its steps with times, restarted consumers, the error, and what --resume would do), and\n" +
        "the rotation schedules with their next run and any missed one.",
    )
    .argument("[id]", "one rotation")
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .addHelpText(
      "after",
      "\nExamples:\n  strongroom rotations\n  strongroom rotations 20261125T103000-NovaPassword-a1b2c3 --json\n",
    )
    .action(async (id, options) => {
      const broker = connectBroker(resolveStateDirPath(options.stateDir, context.env.stateDir));
      if (id !== undefined) {
        const view = await broker.json<RotationView>(
          "GET",
          `/v1/rotations/${encodeURIComponent(id)}`,
        );
        if (options.json) return printJson(view);
        process.stdout.write(`${summary(view)}\n`);
        for (const entry of view.history) process.stdout.write(`  ${entry.at}  ${entry.step}\n`);
        process.stdout.write(`  consumers: ${view.consumers.join(", ") || "none"}\n`);
        process.stdout.write(`  restarted: ${view.restarted.length === 0 ? "none" : ""}\n`);
        for (const unit of view.restarted) {
          const fetched = view.fetched?.[unit];
          process.stdout.write(`    ${unit}${fetched ? `: ${fetched}` : ""}\n`);
        }
        return;
      }
      const answer = await broker.json<Static<typeof RotationListAnswer>>("GET", "/v1/rotations");
      if (options.json) return printJson(answer);
      if (answer.rotations.length === 0) process.stdout.write("no rotations yet\n");
      else {
        const idWidth = Math.max(2, ...answer.rotations.map((v) => v.id.length));
        const row = (cells: string[]) =>
          `${cells[0]!.padEnd(idWidth)}  ${cells[1]!.padEnd(28)} ${cells[2]!.padEnd(12)} ${cells[3]!.padEnd(10)} ${cells[4]}\n`;
        process.stdout.write(row(["ID", "SECRET", "STATUS", "STEP", "UPDATED"]));
        for (const v of answer.rotations) {
          process.stdout.write(row([v.id, v.secret, v.status, v.step, v.updatedAt]));
        }
      }
      for (const s of answer.schedules) {
        process.stdout.write(
          `schedule ${s.secret}: "${s.schedule}", ${s.paused ? "off on this broker" : `next ${s.next ?? "never"}`}${s.missed ? `, MISSED ${s.missed}` : ""}\n`,
        );
      }
    });
}

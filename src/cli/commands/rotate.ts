import { createInterface } from "node:readline/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Command } from "@commander-js/extra-typings";
import type { Static } from "typebox";
import { usageError } from "../../lib/errors.js";
import type {
  RotationPlanSchema,
  RotationPlansAnswer,
  RotationsStartedAnswer,
  RotationViewSchema,
  StartRotationBody,
} from "../../server/wire.js";
import { resolveStateDirPath } from "../../state/state-dir.js";
import { type BrokerClient, connectBroker } from "../broker-client.js";
import type { CliContext } from "../context.js";
import { jsonOption, printJson, stateDirOption } from "../shared-options.js";

const POLL_MS = 250;

export type RotationView = Static<typeof RotationViewSchema>;
type RotationPlan = Static<typeof RotationPlanSchema>;
type StartRotation = Static<typeof StartRotationBody>;

export function rotateCommand(context: CliContext) {
  return new Command("rotate")
    .summary("Rotate passwords without locking anyone out; resumable")
    .description(
      "Rotate passwords without locking anyone out: stage a new value, apply it to its target\n" +
        "(MariaDB accounts accept old OR new meanwhile), verify it with a fresh login, commit it,\n" +
        "restart exactly the services that consume it (rolling, health-checked), then retire the old\n" +
        "value. Every step is persisted first: after a crash, `rotate --resume` finishes the job, or\n" +
        "`rotate --abort ID` rolls it back if it has not committed yet.",
    )
    .argument("[secrets...]", "secrets to rotate (e.g. NovaPassword)")
    .option("--plan", "show target accounts, consumers, restart order and overlap; change nothing")
    .option("--yes", "do not ask for confirmation")
    .option("--force", "rotate secrets on TripleO's do-not-rotate list anyway")
    .option("--resume [id]", "resume an unfinished rotation (every unfinished one without an id)")
    .option(
      "--abort <id>",
      "roll back an unfinished rotation that has not committed: the target accepts the current value alone again and the secret is free",
    )
    .option("--no-wait", "start and return at once; follow with `strongroom rotations ID`")
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  strongroom rotate NovaPassword --plan\n" +
        "  strongroom rotate NovaPassword PlacementPassword --yes\n" +
        "  strongroom rotate --resume                # every unfinished rotation\n" +
        "  strongroom rotate --resume 20261125T103000-NovaPassword-a1b2c3\n" +
        "  strongroom rotate --abort 20261125T103000-NovaPassword-a1b2c3\n",
    )
    .action(async (secrets, options) => {
      const modes = [secrets.length > 0, options.resume !== undefined, options.abort !== undefined];
      if (modes.filter(Boolean).length > 1) {
        throw usageError("give secrets to rotate, --resume or --abort, one of them");
      }
      if (!modes.some(Boolean)) {
        throw usageError("name at least one secret to rotate (or --resume, --abort)");
      }
      const broker = connectBroker(resolveStateDirPath(options.stateDir, context.env.stateDir));
      if (options.abort !== undefined) {
        const body: StartRotation = { abort: options.abort };
        const { rotations } = await broker.json<Static<typeof RotationsStartedAnswer>>(
          "POST",
          "/v1/rotations",
          body,
        );
        if (options.json) printJson({ rotations });
        else for (const view of rotations) process.stdout.write(`${summary(view)}\n`);
        return;
      }
      const start = async (body: StartRotation) =>
        (await broker.json<Static<typeof RotationsStartedAnswer>>("POST", "/v1/rotations", body))
          .rotations;
      let started: RotationView[];
      if (options.resume !== undefined) {
        started = await start({ resume: options.resume === true ? "all" : options.resume });
        if (started.length === 0) {
          if (options.json) printJson({ rotations: [] });
          else process.stdout.write("no unfinished rotation\n");
          return;
        }
      } else {
        const force = options.force === true;
        const planRequest: StartRotation = { secrets, plan: true, force };
        const { plans } = await broker.json<Static<typeof RotationPlansAnswer>>(
          "POST",
          "/v1/rotations",
          planRequest,
        );
        if (options.plan) {
          if (options.json) printJson({ plans });
          else for (const plan of plans) process.stdout.write(formatPlan(plan));
          return;
        }
        if (!options.yes) await confirm(plans);
        started = await start({ secrets, force });
      }
      const final = options.wait ? await follow(broker, started, options.json === true) : started;
      if (options.json) printJson({ rotations: final });
      else for (const view of final) process.stdout.write(`${summary(view)}\n`);
      // A rotation rolled back did not happen: scripts must not read it as done.
      if (final.some((v) => v.status !== "done" && v.status !== "running")) process.exitCode = 1;
    });
}

async function confirm(plans: RotationPlan[]): Promise<void> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw usageError(
      "not a terminal: add --yes to rotate without confirmation (or --plan to look first)",
    );
  }
  for (const plan of plans) process.stderr.write(formatPlan(plan));
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await prompt.question(`Rotate ${plans.map((p) => p.secret).join(", ")}? [y/N] `);
  prompt.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw usageError("cancelled: nothing changed");
}

/**
 * Polls every rotation until none is running, with a progress line on stderr for each step and
 * each consumer restarted (terminal or not: a pipeline's log shows where a rotation stopped);
 * with --json each line is a JSON object.
 */
async function follow(
  broker: BrokerClient,
  started: RotationView[],
  json: boolean,
): Promise<RotationView[]> {
  const latest = new Map(started.map((v) => [v.id, v]));
  const shownSteps = new Map<string, number>();
  const shownRestarts = new Map<string, number>();
  const progress = (
    view: RotationView,
    event: { step: string; at: string } | { restarted: string },
  ) =>
    process.stderr.write(
      json
        ? `${JSON.stringify({ progress: { rotation: view.id, secret: view.secret, ...event } })}\n`
        : "step" in event
          ? `${view.secret}: ${event.step} (${event.at})\n`
          : `${view.secret}: restarted ${event.restarted}${view.fetched?.[event.restarted] ? ` (${view.fetched[event.restarted]})` : ""}\n`,
    );
  for (;;) {
    for (const [id, view] of latest) {
      if (view.status !== "running") continue;
      const fresh = await broker.json<RotationView>(
        "GET",
        `/v1/rotations/${encodeURIComponent(id)}`,
      );
      latest.set(id, fresh);
      for (const entry of fresh.history.slice(shownSteps.get(id) ?? 0)) progress(fresh, entry);
      shownSteps.set(id, fresh.history.length);
      for (const unit of fresh.restarted.slice(shownRestarts.get(id) ?? 0)) {
        progress(fresh, { restarted: unit });
      }
      shownRestarts.set(id, fresh.restarted.length);
    }
    if ([...latest.values()].every((v) => v.status !== "running")) return [...latest.values()];
    await sleep(POLL_MS);
  }
}

export function summary(view: RotationView): string {
  const versions =
    view.toVersion === undefined
      ? `version ${view.fromVersion}`
      : `version ${view.fromVersion} → ${view.toVersion}`;
  switch (view.status) {
    case "done":
      return `${view.secret}: rotated (${versions}; restarted: ${view.restarted.join(", ") || "none"}) [${view.id}]`;
    case "rolled-back":
      return `${view.secret}: rolled back, nothing changed (${view.rolledBack ?? "?"}) [${view.id}]`;
    case "running":
      return `${view.secret}: running, at ${view.step} [${view.id}]`;
    default:
      return (
        `${view.secret}: ${view.status} after ${view.step}` +
        `${view.error ? `: ${view.error.message}` : ""}; ` +
        `strongroom rotate --resume ${view.id} will ${view.resume ?? "finish it"}`
      );
  }
}

export function formatPlan(plan: RotationPlan): string {
  const lines = [`${plan.secret} (version ${plan.currentVersion}, new value: ${plan.generator})`];
  if (plan.overridden) lines.push(`  forced past: ${plan.overridden}`);
  for (const target of plan.targets) {
    lines.push(`  target ${target.kind} (${target.overlap}): ${target.accounts.join(", ")}`);
  }
  if (plan.targets.length === 0) lines.push("  target: none");
  plan.restartOrder.forEach((batch, i) => {
    for (const service of batch) {
      const step = plan.consumers.find((c) => c.service === service);
      lines.push(
        `  restart ${i + 1}. ${service}: ${step?.restart ?? "?"}; health: ${step?.health ?? "?"}`,
      );
    }
  });
  if (plan.consumers.length === 0) lines.push("  consumers: none");
  lines.push(`  overlap: ${plan.window}`);
  return `${lines.join("\n")}\n`;
}

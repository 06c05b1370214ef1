import { Command } from "@commander-js/extra-typings";
import type { Static } from "typebox";
import type { OptionAnswer } from "../../server/wire.js";
import { resolveStateDirPath } from "../../state/state-dir.js";
import { brokerPath, connectBroker } from "../broker-client.js";
import type { CliContext } from "../context.js";
import { jsonOption, printJson, stateDirOption } from "../shared-options.js";

export function getCommand(context: CliContext) {
  return new Command("get")
    .summary("Resolve one option of a service, as the service itself would")
    .description(
      "Resolve one oslo.config option of a service through the running broker, the way the\n" +
        "service itself would get it (environment, INI overrides, manifest/Castellan, default).\n" +
        "Prints the value, secret or not: you asked for it.",
    )
    .argument("<service>", "service name from the manifest, e.g. nova")
    .argument("<group>", "oslo.config group, e.g. database or DEFAULT")
    .argument("<option>", "option name, e.g. connection")
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  strongroom get nova database connection\n" +
        "  strongroom get nova keystone_authtoken password --json   # value, type, location, version\n",
    )
    .action(async (service, group, option, options) => {
      const broker = connectBroker(resolveStateDirPath(options.stateDir, context.env.stateDir));
      const answer = await broker.json<Static<typeof OptionAnswer>>(
        "GET",
        brokerPath("config", service, group, option),
      );
      if (options.json) printJson(answer);
      else process.stdout.write(`${osloString(answer.value)}\n`);
    });
}

/** Back to oslo.config's string form: lists as `a,b`, dicts as `k:v,k2:v2`. */
export function osloString(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(osloString).join(",");
  if (typeof value === "object") {
    return Object.entries(value as Record<string, unknown>)
      .map(([key, item]) => `${key}:${osloString(item)}`)
      .join(",");
  }
  return String(value);
}

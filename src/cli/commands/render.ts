import { Command, Option } from "@commander-js/extra-typings";
import { resolveStateDirPath } from "../../state/state-dir.js";
import { brokerPath, connectBroker } from "../broker-client.js";
import type { CliContext } from "../context.js";
import { stateDirOption } from "../shared-options.js";

export function renderCommand(context: CliContext) {
  return new Command("render")
    .summary("Print every option of a service, as oslo INI or JSON")
    .description(
      "Print every option of a service, resolved by the running broker: the INI document oslo.config's\n" +
        "remote_file source downloads (values quoted, `$` escaped), or JSON with each option's location.\n" +
        "The output contains secret values.",
    )
    .argument("<service>", "service name from the manifest, e.g. nova")
    .addOption(
      new Option("--format <format>", "output format")
        .choices(["ini", "json"] as const)
        .default("ini" as const),
    )
    .addOption(stateDirOption())
    .addHelpText(
      "after",
      "\nExamples:\n  strongroom render nova > /tmp/nova.conf\n  strongroom render nova --format json\n",
    )
    .action(async (service, options) => {
      const broker = connectBroker(resolveStateDirPath(options.stateDir, context.env.stateDir));
      const path =
        options.format === "ini"
          ? `${brokerPath("config", service)}.conf`
          : brokerPath("config", service);
      const body = await broker.text("GET", path);
      process.stdout.write(
        options.format === "json" ? `${JSON.stringify(JSON.parse(body), null, 2)}\n` : body,
      );
    });
}

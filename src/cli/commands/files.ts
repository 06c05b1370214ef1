import { join } from "node:path";
import { Command } from "@commander-js/extra-typings";
import type { Static } from "typebox";
import { usageError } from "../../lib/errors.js";
import type { ServiceFilesAnswer as ServiceFilesAnswerSchema } from "../../server/wire.js";
import { resolveStateDirPath } from "../../state/state-dir.js";
import { brokerPath, connectBroker } from "../broker-client.js";
import type { CliContext } from "../context.js";
import { connectWithKit, KIT_FILES } from "../kit-connection.js";
import { writeServiceFiles } from "../service-files.js";
import { jsonOption, printJson, stateDirOption } from "../shared-options.js";

type ServiceFilesAnswer = Static<typeof ServiceFilesAnswerSchema>;

export function filesCommand(context: CliContext) {
  return new Command("files")
    .summary("Write a service's key repositories and other file-shaped secrets")
    .description(
      "Write the files holding secrets a service needs (its manifest `files`: Keystone's fernet\n" +
        "and credential key repositories, say) into DIR: files 0600, directories 0700, each file\n" +
        "replaced atomically, and files a repository no longer has removed. Run it again to\n" +
        "refresh them after a rotation (a restart command can). The output contains secrets;\n" +
        "nothing is printed but the file names.",
    )
    .argument("<service>", "service name from the manifest, e.g. keystone")
    .option(
      "--out <dir>",
      "directory that holds the service's files (created 0700); default with --kit: KIT/files",
    )
    .option(
      "--kit <dir>",
      "on a service node: authenticate with the service's kit (its mTLS identity) instead of the operator's state dir",
    )
    .addOption(stateDirOption())
    .addOption(jsonOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  strongroom files keystone --out /etc/keystone/strongroom/files\n" +
        "  strongroom files keystone --kit /etc/keystone/strongroom      # on the node, as keystone\n" +
        "  # keystone.conf: [fernet_tokens] key_repository = /etc/keystone/strongroom/files/fernet-keys\n",
    )
    .action(async (service, options) => {
      const out = options.out ?? (options.kit && join(options.kit, KIT_FILES.files));
      if (!out) throw usageError("files: give --out DIR (or --kit DIR, whose files/ it refreshes)");
      const broker = options.kit
        ? connectWithKit(options.kit)
        : connectBroker(resolveStateDirPath(options.stateDir, context.env.stateDir));
      const answer = await broker.json<ServiceFilesAnswer>("GET", brokerPath("files", service));
      const written = writeServiceFiles(out, answer.files);
      if (options.json) {
        printJson({
          service,
          out,
          files: answer.files.map(({ path, secret, version }) => ({ path, secret, version })),
        });
        return;
      }
      process.stdout.write(
        written.length === 0
          ? `${service} has no files\n`
          : `wrote ${written.length} file(s) of ${service} to ${out}: ${written.join(", ")}\n`,
      );
    });
}

import { basename, resolve } from "node:path";
import { Command, Option } from "@commander-js/extra-typings";
import type { Static } from "typebox";
import { ERRORS, usageError } from "../../lib/errors.js";
import { writeFileAtomic } from "../../lib/files.js";
import { PASSWORD_FILE_FORMATS } from "../../seed/password-files.js";
import type { PasswordsAnswer, PasswordsDiffAnswer } from "../../server/wire.js";
import { resolveStateDirPath } from "../../state/state-dir.js";
import { connectBroker } from "../broker-client.js";
import type { CliContext } from "../context.js";
import { jsonOption, printJson, stateDirOption } from "../shared-options.js";
import { readInput } from "./seed.js";

type Rendered = Static<typeof PasswordsAnswer>;
type Diff = Static<typeof PasswordsDiffAnswer>;

/** `--out -`: the values go to stdout, only when asked for in so many words. */
const STDOUT = "-";

export function passwordsCommand(context: CliContext) {
  return new Command("passwords")
    .summary("Write a deployer's passwords file (kolla, TripleO, RHOSO osp-secret) from the store")
    .description(
      "Write a deployer's passwords file from the running broker's store, 0600 and atomically:\n" +
        "kolla-ansible's passwords.yml (kolla, like kolla-readpwd, for kolla-ansible reconfigure),\n" +
        "TripleO's overcloud-passwords.yaml (tripleo), or RHOSO's Kubernetes Secret osp-secret\n" +
        "(osp-secret, each key copied from its TripleO parameter, else its kolla key). --merge-into\n" +
        "keeps an existing kolla passwords.yml's comments and key order and changes only values\n" +
        "(like kolla-mergepwd).\n" +
        "--diff compares an existing osp-secret YAML with the store's and lists the keys that differ,\n" +
        "are missing or extra, names only; it exits 1 when any differs or is missing. The file holds\n" +
        "every value: it is never written to a terminal unless --out -.",
    )
    .addOption(
      new Option("--format <format>", "the file to write")
        .choices(PASSWORD_FILE_FORMATS)
        .makeOptionMandatory(),
    )
    .option("--out <file>", "the file to write ('-': stdout)")
    .option("--deployment <name>", "the deployment (default: the broker's own)")
    .option(
      "--merge-into <file>",
      "kolla: an existing passwords.yml whose comments and order to keep",
    )
    .option("--diff <file>", "osp-secret: an existing osp-secret YAML to compare (names only)")
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  strongroom passwords --format kolla --out /etc/kolla/passwords.yml\n" +
        "  strongroom passwords --format kolla --merge-into /etc/kolla/passwords.yml --out /etc/kolla/passwords.yml\n" +
        "  strongroom passwords --format tripleo --deployment edge1 --out edge1-passwords.yaml\n" +
        "  strongroom passwords --format osp-secret --out - | oc apply -f -\n" +
        "  strongroom passwords --format osp-secret --diff osp-secret.yaml\n",
    )
    .action(async (options) => {
      const { format, out, mergeInto, diff } = options;
      if (mergeInto !== undefined && format !== "kolla") {
        throw usageError("--merge-into takes a kolla passwords.yml: use it with --format kolla");
      }
      if (diff !== undefined && format !== "osp-secret") {
        throw usageError("--diff compares an osp-secret: use it with --format osp-secret");
      }
      if (diff !== undefined && (out !== undefined || mergeInto !== undefined)) {
        throw usageError("--diff writes no file: drop --out and --merge-into");
      }
      if (diff === undefined && out === undefined) {
        throw usageError(
          "--out FILE is required: the file holds every value (--out - writes to stdout)",
        );
      }
      if (out === STDOUT && options.json) {
        throw usageError("--out - writes the file to stdout: --json cannot share it");
      }
      const broker = connectBroker(resolveStateDirPath(options.stateDir, context.env.stateDir));
      const deployment = options.deployment ? { deployment: options.deployment } : {};

      if (diff !== undefined) {
        const answer = await broker.json<Diff>("POST", "/v1/passwords/diff", {
          text: readInput(diff),
          file: basename(diff),
          ...deployment,
        });
        if (options.json) printJson(answer);
        else printDiff(answer, diff);
        if (answer.differs.length > 0 || answer.missing.length > 0) process.exitCode = 1;
        return;
      }

      const rendered =
        mergeInto !== undefined
          ? await broker.json<Rendered>("POST", "/v1/passwords/merge", {
              text: readInput(mergeInto),
              file: basename(mergeInto),
              ...deployment,
            })
          : await broker.json<Rendered>(
              "GET",
              `/v1/passwords?${new URLSearchParams({ format, ...(options.deployment && { deployment: options.deployment }) })}`,
            );
      if (out === STDOUT) {
        process.stdout.write(rendered.text);
        return;
      }
      const file = resolve(out!);
      try {
        writeFileAtomic(file, rendered.text);
      } catch (error) {
        throw ERRORS.STRONGROOM_ERR_PASSWORDS_FILE(
          `cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
        );
      }
      const { text: _values, ...summary } = rendered;
      if (options.json) {
        printJson({ file, ...summary });
        return;
      }
      process.stdout.write(
        `${file}: ${format} passwords of ${rendered.deployment}, ${rendered.written} keys with a value` +
          `${rendered.missing.length ? `; no value for ${rendered.missing.join(", ")}` : ""}\n`,
      );
    });
}

function printDiff(answer: Diff, file: string): void {
  for (const [label, names] of [
    ["differs", answer.differs],
    ["missing", answer.missing],
    ["extra", answer.extra],
  ] as const) {
    for (const name of names) process.stdout.write(`${label.padEnd(8)} ${name}\n`);
  }
  process.stdout.write(
    `${file}: ${answer.same} same, ${answer.differs.length} differ, ${answer.missing.length} missing, ` +
      `${answer.extra.length} extra (not from ${answer.deployment})\n`,
  );
}

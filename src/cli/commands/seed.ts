import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { Command, Option } from "@commander-js/extra-typings";
import type { Static } from "typebox";
import { usageError } from "../../lib/errors.js";
import { SEED_FORMATS } from "../../seed/inputs.js";
import type { SeedAnswer as SeedAnswerSchema, SeedBody } from "../../server/wire.js";
import { resolveStateDirPath } from "../../state/state-dir.js";
import { connectBroker } from "../broker-client.js";
import type { CliContext } from "../context.js";
import { jsonOption, printJson, progressLine, stateDirOption } from "../shared-options.js";

export type SeedAnswer = Static<typeof SeedAnswerSchema>;

export function seedCommand(context: CliContext) {
  return new Command("seed")
    .summary("Ingest deployment secrets (TripleO, kolla, YAML, JSON, INI, env), all or nothing")
    .description(
      "Ingest deployment secrets into the running broker, all or nothing: a TripleO *-passwords.yaml\n" +
        "(parameter_defaults), a kolla-ansible passwords.yml, a YAML or JSON map, an oslo-style INI or a\n" +
        "KEY=VALUE env file. Missing known TripleO parameters are generated with TripleO's rules, empty\n" +
        "kolla keys with kolla-genpwd's (40 alphanumerics, UUID4, RSA-4096 ssh key maps, HMAC-MD5,\n" +
        "Fernet, bcrypt salt; docker_registry_password stays blank); existing values are kept, so\n" +
        "running it again changes nothing; an existing secret whose input value differs is listed as\n" +
        "`differs` (and kept). A seed the broker did not finish (it was killed) is rolled back by the\n" +
        "next `up` or `seed` before anything else. Prints names and actions, never values.",
    )
    .argument("<file>", "the input file ('-' reads stdin)")
    .addOption(
      new Option("--format <format>", "input format (default: detected)").choices(SEED_FORMATS),
    )
    .option("--no-generate", "do not generate missing known TripleO parameters")
    .option("--dry-run", "list what would happen; write nothing")
    .option("--strict", "refuse names the format does not know (kolla: keys not in its template)")
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  strongroom seed ~/overcloud-deploy/overcloud/overcloud-passwords.yaml\n" +
        "  strongroom seed extra.env --format env --no-generate --dry-run\n" +
        "  strongroom seed /etc/kolla/passwords.yml --strict\n",
    )
    .action(async (file, options) => {
      const text = readInput(file);
      const broker = connectBroker(resolveStateDirPath(options.stateDir, context.env.stateDir));
      const name = file === "-" ? "stdin" : basename(file);
      progressLine(
        `seeding ${name} into ${broker.state.deployment} (${Math.ceil(text.length / 1024)} KiB)…`,
      );
      const body: Static<typeof SeedBody> = {
        text,
        file: name,
        ...(options.format ? { format: options.format } : {}),
        generate: options.generate,
        dry_run: options.dryRun === true,
        ...(options.strict ? { strict: true } : {}),
      };
      const answer = await broker.json<SeedAnswer>("POST", "/v1/seed", body);
      if (options.json) printJson(answer);
      else printSeedSummary(answer, name);
    });
}

/** A file the command reads (or stdin for '-'); a missing one is a usage error. */
export function readInput(file: string): string {
  try {
    return readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (error) {
    throw usageError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

export function seedCounts(
  answer: SeedAnswer,
): Record<SeedAnswer["entries"][number]["action"], number> {
  const counts = { import: 0, generate: 0, keep: 0, differs: 0, missing: 0 };
  for (const entry of answer.entries) counts[entry.action] += 1;
  return counts;
}

function printSeedSummary(answer: SeedAnswer, name: string): void {
  const counts = seedCounts(answer);
  const rolledBack = answer.rolled_back;
  if (rolledBack) {
    process.stdout.write(
      `rolled back an unfinished seed of ${rolledBack.file} (started ${rolledBack.started_at}): ` +
        `${rolledBack.removed} of its ${rolledBack.secrets} secrets removed` +
        `${rolledBack.kept.length ? `; changed since, kept: ${rolledBack.kept.join(", ")}` : ""}\n`,
    );
  }
  for (const entry of answer.entries) {
    if (answer.dry_run || entry.action === "differs") {
      process.stdout.write(`${entry.action.padEnd(8)} ${entry.name}\n`);
    }
  }
  const verb = answer.dry_run ? "would write" : "wrote";
  process.stdout.write(
    `${name}: ${counts.import} imported, ${counts.generate} generated, ${counts.keep} kept` +
      `${counts.differs ? `, ${counts.differs} kept that differ from the input (strongroom rotate changes them)` : ""}` +
      `${counts.missing ? `, ${counts.missing} missing` : ""}; ${verb} ${answer.written}\n`,
  );
}

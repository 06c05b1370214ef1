import { Argument, Command, Option } from "@commander-js/extra-typings";
import type { Static } from "typebox";
import { usageError } from "../../lib/errors.js";
import type { KitRevokeAnswer, KitRevokeBody, KitsAnswer } from "../../server/wire.js";
import { resolveStateDirPath } from "../../state/state-dir.js";
import { brokerPath, connectBroker } from "../broker-client.js";
import type { CliContext } from "../context.js";
import { jsonOption, printJson, stateDirOption } from "../shared-options.js";

type KitRow = Static<typeof KitsAnswer>["kits"][number];

export function kitsCommand(context: CliContext) {
  return new Command("kits")
    .summary("List the service kits issued, or revoke them")
    .description(
      "The service kits `service-kit` issued, as the broker recorded them: `list` (the default)\n" +
        "shows each kit's service, certificate serial and expiry, secret-id accessor and expiry,\n" +
        "and status, plus the secret-ids Vault holds for a service that no kit names (untracked).\n" +
        "`revoke SERVICE` stops kits: it destroys their AppRole secret-id in Vault and puts their\n" +
        "certificate on the deny-list every broker of the deployment refuses\n" +
        "(STRONGROOM_ERR_KIT_REVOKED); one kit by --serial or --accessor, or every kit with --all.",
    )
    .addArgument(
      new Argument("[action]", "list (the default) or revoke").choices(["list", "revoke"] as const),
    )
    .argument("[service]", "the service: list shows only its kits; revoke needs it")
    .addOption(new Option("--all", "revoke: every kit of the service"))
    .addOption(new Option("--serial <serial>", "revoke: the kit whose certificate has this serial"))
    .addOption(
      new Option("--accessor <accessor>", "revoke: the kit whose secret-id has this accessor"),
    )
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  strongroom kits\n" +
        "  strongroom kits list nova --json\n" +
        "  strongroom kits revoke nova --serial 3f9c0a...\n" +
        "  strongroom kits revoke nova --all\n",
    )
    .action(async (action = "list", service, options) => {
      const chosen = [options.all, options.serial, options.accessor].filter(
        (o) => o !== undefined,
      ).length;
      if (action === "list" && chosen > 0) {
        throw usageError("--all, --serial and --accessor apply to `kits revoke` only");
      }
      if (action === "revoke" && service === undefined) {
        throw usageError("`kits revoke` needs the service");
      }
      if (action === "revoke" && chosen !== 1) {
        throw usageError("`kits revoke` needs exactly one of --all, --serial S, --accessor A");
      }
      const broker = connectBroker(resolveStateDirPath(options.stateDir, context.env.stateDir));
      if (action === "list") {
        const path = service === undefined ? brokerPath("kits") : brokerPath("kits", service);
        const { kits } = await broker.json<Static<typeof KitsAnswer>>("GET", path);
        if (options.json) return printJson({ kits });
        if (kits.length === 0) return void process.stdout.write("no kits issued yet\n");
        return printTable(kits);
      }
      const body: Static<typeof KitRevokeBody> = options.all
        ? { all: true }
        : options.serial !== undefined
          ? { serial: options.serial }
          : { secret_id_accessor: options.accessor! };
      const answer = await broker.json<Static<typeof KitRevokeAnswer>>(
        "POST",
        brokerPath("kits", service!, "revoke"),
        body,
      );
      if (options.json) return printJson(answer);
      if (answer.revoked.length === 0) {
        return void process.stdout.write(`${answer.service}: no kit to revoke\n`);
      }
      for (const kit of answer.revoked) {
        process.stdout.write(
          `${answer.service}: revoked kit ${kit.serial ?? "-"}` +
            ` (certificate ${kit.serial ? "denied" : "unknown"}, secret-id ${kit.secretId}` +
            `${kit.secretIdAccessor ? ` ${kit.secretIdAccessor}` : ""})\n`,
        );
      }
    });
}

const COLUMNS: Array<[string, (kit: KitRow) => string | undefined]> = [
  ["SERVICE", (k) => k.service],
  ["STATUS", (k) => k.status],
  ["SERIAL", (k) => k.serial],
  ["CERT NOT AFTER", (k) => k.notAfter],
  ["SECRET-ID ACCESSOR", (k) => k.secretIdAccessor],
  ["SECRET-ID EXPIRES", (k) => k.secretIdExpires ?? (k.secretIdAccessor ? "never" : undefined)],
  ["ISSUED", (k) => k.issuedAt],
];

function printTable(kits: KitRow[]): void {
  const cells = kits.map((kit) => COLUMNS.map(([, cell]) => cell(kit) ?? "-"));
  const widths = COLUMNS.map(([title], i) =>
    Math.max(title.length, ...cells.map((row) => row[i]!.length)),
  );
  const line = (row: string[]) =>
    `${row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd()}\n`;
  process.stdout.write(line(COLUMNS.map(([title]) => title)));
  for (const row of cells) process.stdout.write(line(row));
}

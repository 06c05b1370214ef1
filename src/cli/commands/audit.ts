import { Argument, Command, Option } from "@commander-js/extra-typings";
import { type AuditRecord, readAuditTail, verifyAuditLog } from "../../lib/audit-log.js";
import { usageError } from "../../lib/errors.js";
import { resolveStateDirPath, STATE_FILES, StateDir } from "../../state/state-dir.js";
import type { CliContext } from "../context.js";
import { jsonOption, printJson, stateDirOption } from "../shared-options.js";

const DEFAULT_TAIL = 20;

export function auditCommand(context: CliContext) {
  return new Command("audit")
    .summary("Verify or show the broker's audit log")
    .description(
      "The broker's audit log (audit.log in the state dir): one JSON line per lookup, secret write,\n" +
        "seed, rotation step, service kit, export and import, never a value, each chained to the one\n" +
        "before by an HMAC keyed by audit.key, and sealed by audit.log.checkpoint (last record and its\n" +
        "MAC). `verify` checks the whole chain and exits 1 naming the first line edited, removed or\n" +
        "inserted, the records missing from a truncated tail, or a replaced log; `tail` shows the last\n" +
        "records. Needs no broker.",
    )
    .addArgument(
      new Argument("<action>", "verify (check the chain) or tail (show the last records)").choices([
        "verify",
        "tail",
      ] as const),
    )
    .addOption(
      new Option("-n, --lines <count>", `how many records tail shows (default: ${DEFAULT_TAIL})`),
    )
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .addHelpText(
      "after",
      "\nExamples:\n  strongroom audit verify\n  strongroom audit tail -n 3 --json\n",
    )
    .action((action, options) => {
      const count = options.lines === undefined ? DEFAULT_TAIL : Number(options.lines);
      if (!Number.isInteger(count) || count < 1) {
        throw usageError(`--lines must be a positive integer, not "${options.lines}"`);
      }
      if (options.lines !== undefined && action !== "tail") {
        throw usageError("--lines applies to `audit tail` only");
      }
      const dir = StateDir.open(resolveStateDirPath(options.stateDir, context.env.stateDir));
      const files = {
        file: dir.file(STATE_FILES.auditLog),
        keyFile: dir.file(STATE_FILES.auditKey),
      };
      if (action === "verify") {
        const { records } = verifyAuditLog(files);
        if (options.json) return printJson({ file: files.file, records, verified: true });
        process.stdout.write(`${files.file}: ${records} records, chain intact\n`);
        return;
      }
      const records = readAuditTail(files.file, count);
      if (options.json) return printJson({ records });
      for (const record of records) process.stdout.write(`${oneLine(record)}\n`);
    });
}

/** `time #seq event identity key=value…`, without the chain's own fields. */
function oneLine(record: AuditRecord): string {
  const { seq, time, event, identity, prev: _prev, mac: _mac, ...rest } = record;
  const fields = Object.entries(rest).map(
    ([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`,
  );
  return [time, `#${seq}`, event, identity ?? "-", ...fields].join(" ");
}

import { resolve } from "node:path";
import { Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Command } from "@commander-js/extra-typings";
import type { Static } from "typebox";
import { ERRORS } from "../../lib/errors.js";
import { writeStreamAtomic } from "../../lib/files.js";
import type { ExportBody, ExportSummaryAnswer } from "../../server/wire.js";
import { resolveStateDirPath } from "../../state/state-dir.js";
import { type BrokerClient, connectBroker } from "../broker-client.js";
import type { CliContext } from "../context.js";
import { jsonOption, printJson, progressLine, stateDirOption } from "../shared-options.js";

const PROGRESS_EVERY_MS = 1000;

type ExportRequest = Static<typeof ExportBody>;
type ExportSummary = Static<typeof ExportSummaryAnswer>;

export function exportCommand(context: CliContext) {
  return new Command("export")
    .summary("Export a deployment as one signed bundle, sealed to its recipients")
    .description(
      "Export a deployment from the running broker as one bundle: its secrets (every version Vault\n" +
        "keeps), its manifest and its service identities, encrypted so that only the --recipient keys\n" +
        "can open it, and signed with the broker's key (<state-dir>/broker-bundle.pub: give it to the\n" +
        "importing site as --trust). The file is written 0600 and appears only once complete.",
    )
    .requiredOption("--recipient <pub...>", "public key files (.pub) of who may open the bundle")
    .requiredOption("--out <file>", "the bundle file to write")
    .option("--deployment <name>", "the deployment to export (default: the broker's own)")
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  strongroom export --recipient overcloud-a.pub overcloud-b.pub --out overcloud.bundle\n" +
        "  strongroom export --recipient edge1.pub --deployment edge1 --out edge1.bundle --json\n",
    )
    .action(async (options) => {
      // Loaded here: libsodium and the stream code are only for this command.
      const { readPublicKeyFile, encodePublicKey } = await import("../../bundle/keys.js");
      const recipients = options.recipient.map((file) => encodePublicKey(readPublicKeyFile(file)));
      const broker = connectBroker(resolveStateDirPath(options.stateDir, context.env.stateDir));
      const summary = await downloadBundle(broker, options.out, {
        recipients,
        ...(options.deployment ? { deployment: options.deployment } : {}),
      });
      if (options.json) {
        printJson({ file: summary.file, ...summary.bundle });
        return;
      }
      const { deployment, counts, bytes, recipients: sealedTo, signer, sequence } = summary.bundle;
      process.stdout.write(
        `${summary.file}: deployment ${deployment}, ${counts["secrets"] ?? 0} secrets, ${bytes} bytes; ` +
          `sealed to ${sealedTo.join(", ")}; signed by ${signer}, sequence ${sequence}\n`,
      );
    });
}

/**
 * Streams POST /v1/export into a temporary 0600 file beside `out`, renamed to `out` (and the
 * directory synced) once the broker's summary trailer proves the bundle complete; any failure
 * removes the temporary file.
 */
async function downloadBundle(
  broker: BrokerClient,
  out: string,
  body: ExportRequest,
): Promise<{ file: string; bundle: ExportSummary }> {
  const file = resolve(out);
  let downloadError: unknown;
  try {
    const bundle = await writeStreamAtomic(file, (sink) =>
      receiveBundle(broker, body, sink, file).catch((error: unknown) => {
        downloadError = error;
        throw error;
      }),
    );
    return { file, bundle };
  } catch (error) {
    // The download says what went wrong; anything else is creating, syncing or renaming the file.
    if (error === downloadError) throw error;
    throw cannotWrite(file, error as NodeJS.ErrnoException);
  }
}

async function receiveBundle(
  broker: BrokerClient,
  body: ExportRequest,
  sink: Writable,
  file: string,
): Promise<ExportSummary> {
  // Loaded here, like the bundle code: the route's names for the bytes and for the summary.
  const { BUNDLE_CONTENT_TYPE, EXPORT_SUMMARY_TRAILER } = await import("../../server/wire.js");
  const response = await broker.stream("POST", "/v1/export", body, {
    accept: `${BUNDLE_CONTENT_TYPE}, application/json`,
  });
  let diskError: NodeJS.ErrnoException | undefined;
  sink.once("error", (error) => {
    diskError = error;
  });
  await pipeline(response.body, progress(), sink).catch(() => {
    throw diskError ? cannotWrite(file, diskError) : cutShort();
  });
  const summary = response.trailer(EXPORT_SUMMARY_TRAILER);
  if (summary === undefined) throw cutShort();
  return JSON.parse(summary) as ExportSummary;
}

const cannotWrite = (file: string, error: NodeJS.ErrnoException) =>
  ERRORS.STRONGROOM_ERR_EXPORT_FILE(`cannot write ${file} (${error.code ?? "error"})`);

const cutShort = () =>
  ERRORS.STRONGROOM_ERR_EXPORT_INCOMPLETE(
    "the broker ended the export before the bundle was complete (see its log)",
  );

function progress(): Transform {
  let bytes = 0;
  let shown = Date.now();
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (Date.now() - shown >= PROGRESS_EVERY_MS) {
        shown = Date.now();
        progressLine(`export: ${(bytes / 1048576).toFixed(1)} MiB received`);
      }
      done(null, chunk);
    },
  });
}

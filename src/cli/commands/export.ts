import { closeSync, constants, createWriteStream, fchmodSync, fsyncSync, openSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { request } from "node:https";
import { resolve } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Command } from "@commander-js/extra-typings";
import type { ExportRequest, ExportSummary } from "../../bundle/export-store.js";
import { BrokerAnswerError, ERRORS, type StrongroomError } from "../../lib/errors.js";
import { identityFiles, resolveStateDirPath, STATE_FILES } from "../../state/state-dir.js";
import { type BrokerClient, connectBroker } from "../broker-client.js";
import type { CliContext } from "../context.js";
import { jsonOption, printJson, progressLine, stateDirOption } from "../shared-options.js";

/** Must match the route's trailer (src/server/routes/export-routes.ts). */
const SUMMARY_TRAILER = "x-strongroom-export-summary";
const PROGRESS_EVERY_MS = 1000;
const IDLE_TIMEOUT_MS = 120_000;

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
      const { deployment, counts, bytes, recipients: sealedTo, signer } = summary.bundle;
      process.stdout.write(
        `${summary.file}: deployment ${deployment}, ${counts["secrets"] ?? 0} secrets, ${bytes} bytes; ` +
          `sealed to ${sealedTo.join(", ")}; signed by ${signer}\n`,
      );
    });
}

/**
 * Streams POST /v1/export into `<out>.tmp` (0600) and renames it to `out` once the broker's
 * summary trailer proves the bundle complete; any failure removes the temporary file.
 */
async function downloadBundle(
  broker: BrokerClient,
  out: string,
  body: ExportRequest,
): Promise<{ file: string; bundle: ExportSummary }> {
  const file = resolve(out);
  const temporary = `${file}.tmp`;
  let fd: number | undefined;
  try {
    // No symlink is followed: a planted FILE.tmp cannot redirect the bundle elsewhere.
    const { O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = constants;
    fd = openSync(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600);
  } catch (error) {
    throw cannotWrite(temporary, error as NodeJS.ErrnoException);
  }
  try {
    // A leftover file keeps its mode: make it 0600 whatever was there.
    fchmodSync(fd, 0o600);
    const response = await postExport(broker, body);
    const sink = createWriteStream("", { fd, autoClose: false });
    let diskError: NodeJS.ErrnoException | undefined;
    sink.once("error", (error) => {
      diskError = error;
    });
    await pipeline(response, progress(), sink).catch(() => {
      throw diskError ? cannotWrite(temporary, diskError) : cutShort();
    });
    const bundle = summaryOf(response);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    await rename(temporary, file);
    return { file, bundle };
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    await rm(temporary, { force: true });
    throw error;
  }
}

const cannotWrite = (file: string, error: NodeJS.ErrnoException) =>
  ERRORS.STRONGROOM_ERR_EXPORT_FILE(`cannot write ${file} (${error.code ?? "error"})`);

const cutShort = () =>
  ERRORS.STRONGROOM_ERR_EXPORT_INCOMPLETE(
    "the broker ended the export before the bundle was complete (see its log)",
  );

function summaryOf(response: IncomingMessage): ExportSummary {
  const trailer = response.trailers[SUMMARY_TRAILER];
  if (!response.complete || typeof trailer !== "string") throw cutShort();
  return JSON.parse(trailer) as ExportSummary;
}

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

/** The operator's request with the state dir's credentials; resolves with a 200 response. */
function postExport(broker: BrokerClient, body: ExportRequest): Promise<IncomingMessage> {
  const { dir, state } = broker;
  const operator = identityFiles({ kind: "operator" });
  const payload = Buffer.from(JSON.stringify(body), "utf8");
  return new Promise((resolvePromise, reject) => {
    const req = request(
      new URL("/v1/export", state.broker.url),
      {
        method: "POST",
        ca: dir.read(STATE_FILES.caCert),
        ...(dir.has(operator.cert) && {
          cert: dir.read(operator.cert),
          key: dir.read(operator.key),
        }),
        headers: {
          authorization: `Bearer ${dir.readText(STATE_FILES.operatorToken).trim()}`,
          accept: "application/octet-stream, application/json",
          "content-type": "application/json",
          "content-length": payload.length,
        },
        // Between bytes: the export itself may take long, but never stalls that long.
        timeout: IDLE_TIMEOUT_MS,
      },
      (response) => {
        if (response.statusCode === 200) return resolvePromise(response);
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => reject(refusal(response.statusCode ?? 0, Buffer.concat(chunks))));
        response.on("error", reject);
      },
    );
    req.on("timeout", () =>
      req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })),
    );
    req.on("error", (error: NodeJS.ErrnoException) =>
      reject(
        ERRORS.STRONGROOM_ERR_BROKER_DOWN(
          `the broker at ${state.broker.url} is not reachable (${error.code ?? error.message}): is \`strongroom up\` running?`,
        ),
      ),
    );
    req.end(payload);
  });
}

function refusal(status: number, body: Buffer): StrongroomError {
  let code: string | undefined;
  let message = `the broker answered HTTP ${status}`;
  try {
    const answer = JSON.parse(body.toString("utf8")) as {
      error?: { code?: string; message?: string };
    };
    code = answer.error?.code ?? code;
    message = answer.error?.message ?? message;
  } catch {
    // not JSON: keep the status line
  }
  return new BrokerAnswerError(status, code, message);
}

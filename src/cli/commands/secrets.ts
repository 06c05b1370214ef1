import { Argument, Command } from "@commander-js/extra-typings";
import type { Static } from "typebox";
import { ERRORS, usageError } from "../../lib/errors.js";
import type {
  PutSecretAnswer,
  SecretMetadataAnswer,
  SecretsListAnswer,
} from "../../server/wire.js";
import { resolveStateDirPath } from "../../state/state-dir.js";
import { type BrokerClient, brokerPath, connectBroker } from "../broker-client.js";
import type { CliContext } from "../context.js";
import { readSecretValue } from "../secret-input.js";
import { jsonOption, printJson, stateDirOption } from "../shared-options.js";

type SecretMetadata = Static<typeof SecretMetadataAnswer>;

const ACTIONS = ["list", "show", "consumers", "set"] as const;

export function secretsCommand(context: CliContext) {
  return new Command("secrets")
    .summary("List secrets, show one's metadata and consumers, or set a new value")
    .description(
      "The deployment's secrets, never their values: `list` (the default) shows every secret's\n" +
        "type, version, creation time and consuming services; `show NAME` one of them; `consumers\n" +
        "NAME` its services, one a line. `set NAME` stores a new version: the value is read from\n" +
        "stdin (all of it, one trailing newline cut) or typed at a prompt with echo off on a\n" +
        "terminal, never from the command line; it prints the name and the new version only.",
    )
    .addArgument(
      new Argument("[action]", "what to do with the secrets").choices(ACTIONS).default("list"),
    )
    .argument("[name]", "the secret, for show, consumers and set (e.g. NovaPassword)")
    .addOption(jsonOption())
    .addOption(stateDirOption())
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  strongroom secrets\n" +
        "  strongroom secrets show NovaPassword --json\n" +
        "  strongroom secrets consumers NovaPassword\n" +
        "  strongroom secrets set NovaPassword < new-password.txt\n" +
        "  strongroom secrets set NovaPassword       # prompts, echo off\n",
    )
    .action(async (action, name, options) => {
      if (action === "list" && name !== undefined) {
        throw usageError("`secrets list` takes no name (try `secrets show NAME`)");
      }
      if (action !== "list" && name === undefined) {
        throw usageError(`\`secrets ${action}\` needs the secret's name`);
      }
      const broker = connectBroker(resolveStateDirPath(options.stateDir, context.env.stateDir));
      const json = options.json === true;
      if (action === "list") return printList(await listSecrets(broker), json);
      if (action === "set") return setSecret(broker, name!, json);
      const secret = await findSecret(broker, name!);
      if (action === "show") return json ? printJson(secret) : printSecret(secret);
      if (json) return printJson({ name: secret.name, consumers: secret.consumers });
      for (const service of secret.consumers) process.stdout.write(`${service}\n`);
    });
}

async function listSecrets(broker: BrokerClient): Promise<SecretMetadata[]> {
  return (await broker.json<Static<typeof SecretsListAnswer>>("GET", "/v1/secrets")).secrets;
}

/** No route answers one secret: the list holds every secret's metadata. */
async function findSecret(broker: BrokerClient, name: string): Promise<SecretMetadata> {
  const secret = (await listSecrets(broker)).find((s) => s.name === name);
  if (!secret) throw ERRORS.STRONGROOM_ERR_UNKNOWN_SECRET(`no secret "${name}" is stored`);
  return secret;
}

async function setSecret(broker: BrokerClient, name: string, json: boolean): Promise<void> {
  // A misspelt name would otherwise become a new secret nothing consumes.
  const { loadManifest } = await import("../../config/manifest.js");
  if (!loadManifest(broker.state.manifest).secrets.has(name)) {
    throw ERRORS.STRONGROOM_ERR_UNKNOWN_SECRET(`no secret "${name}" in the manifest`);
  }
  const value = await readSecretValue(name);
  const answer = await broker.json<Static<typeof PutSecretAnswer>>(
    "PUT",
    brokerPath("secrets", name),
    { value },
  );
  if (json) printJson(answer);
  else process.stdout.write(`${answer.name}: version ${answer.version}\n`);
}

const createdAt = (seconds: number) => new Date(seconds * 1000).toISOString();

function printList(secrets: SecretMetadata[], json: boolean): void {
  if (json) printJson({ secrets });
  else if (secrets.length === 0) process.stdout.write("no secrets stored yet\n");
  else printTable(secrets);
}

function printTable(secrets: SecretMetadata[]): void {
  const nameWidth = Math.max(4, ...secrets.map((s) => s.name.length));
  const row = (cells: string[]) =>
    `${cells[0]!.padEnd(nameWidth)}  ${cells[1]!.padEnd(10)} ${cells[2]!.padEnd(7)} ${cells[3]!.padEnd(24)} ${cells[4]}\n`;
  process.stdout.write(row(["NAME", "TYPE", "VERSION", "CREATED", "CONSUMERS"]));
  for (const s of secrets) {
    const consumers = s.consumers.join(",") || "-";
    process.stdout.write(row([s.name, s.type, String(s.version), createdAt(s.created), consumers]));
  }
}

function printSecret(secret: SecretMetadata): void {
  const rows: Array<[string, string]> = [
    ["name", secret.name],
    ["type", secret.type],
    ["version", String(secret.version)],
    ["created", createdAt(secret.created)],
    ["consumers", secret.consumers.join(", ") || "none"],
  ];
  for (const [key, value] of rows) process.stdout.write(`${key.padEnd(11)}${value}\n`);
}

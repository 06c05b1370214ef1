import { type Command, Option } from "@commander-js/extra-typings";
import { STATE_DIR_ENV } from "../state/state-dir.js";

/** `--state-dir`: no commander default, so STRONGROOM_STATE_DIR can apply (resolveStateDirPath). */
export const stateDirOption = () =>
  new Option(
    "--state-dir <dir>",
    `strongroom's state directory (default: $${STATE_DIR_ENV} or ./.strongroom)`,
  );

export const jsonOption = () => new Option("--json", "machine-readable JSON on stdout");

/** Progress lines go to stderr, and only on a terminal: pipes and logs stay quiet. */
export function progressLine(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** `STRONGROOM_<FLAG_UPPER_SNAKE>`: where `serve` and `bootstrap` also read a flag (Kubernetes). */
export const flagEnvName = (long: string) =>
  `STRONGROOM_${long.replace(/^--/, "").replace(/-/g, "_").toUpperCase()}`;

/** An option of `serve`/`bootstrap` that may also come from its STRONGROOM_* variable. */
export function envOption<Flags extends string>(flags: Flags, description: string) {
  const option = new Option(flags, description);
  return option.env(flagEnvName(option.long!));
}

/** The options `serve` and `bootstrap` share: the deployment and the Vault it lives in. */
export function addVaultOptions<C extends Command>(command: C) {
  return command
    .addOption(
      envOption("--manifest <file>", "the deployment manifest (YAML)").makeOptionMandatory(),
    )
    .addOption(
      envOption(
        "--vault-addr <url>",
        "the Vault (or OpenBao) address, https://HOST:PORT",
      ).makeOptionMandatory(),
    )
    .addOption(envOption("--vault-ca <file>", "the CA bundle (PEM) that verifies the Vault's TLS"))
    .addOption(
      envOption("--kv-mount <mount>", "the KV v2 mount holding the secrets").default("secret"),
    );
}

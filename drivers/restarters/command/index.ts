/**
 * The `command` restarter: runs an argv template (`command: [podman, restart, "{service}"]`,
 * `{service}` replaced by the consumer's name) without a shell. Succeeds on exit code 0
 * within `timeout_seconds` (default 120); otherwise one line with the exit code and the
 * last stderr line.
 */
import type { Restarter, RestarterDriver } from "../../types.js";
import {
  parseStanza,
  rejectUnknownKeys,
  runRestartCommand,
  type Stanza,
  StanzaProblem,
  secondsParameter,
  stanzaProblem,
  withService,
} from "../stanza.js";

export const DEFAULT_TIMEOUT_SECONDS = 120;

interface CommandStanza {
  argv: readonly string[];
  timeoutSeconds: number;
}

function parseCommandStanza(stanza: Stanza): CommandStanza {
  rejectUnknownKeys(stanza, ["command", "timeout_seconds"]);
  const argv = stanza["command"];
  if (
    !Array.isArray(argv) ||
    argv.length === 0 ||
    !argv.every((a): a is string => typeof a === "string" && a !== "")
  ) {
    throw new StanzaProblem('"command" must be a non-empty list of non-empty strings');
  }
  return {
    argv,
    timeoutSeconds: secondsParameter(stanza, "timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
  };
}

export function createCommandRestarter(stanza: Stanza, service: string): Restarter {
  const parsed = parseStanza(service, "command", () => parseCommandStanza(stanza));
  const argv = parsed.argv.map((arg) => withService(arg, service));
  return {
    driver: "command",
    async restart(signal) {
      await runRestartCommand(argv, `restart of ${service}`, {
        timeoutMs: parsed.timeoutSeconds * 1000,
        signal,
      });
    },
  };
}

export const driver: RestarterDriver = {
  kind: "restarter",
  name: "command",
  validate: (stanza) => stanzaProblem(() => parseCommandStanza(stanza)),
  create: (stanza, context) => createCommandRestarter(stanza, context.service),
};

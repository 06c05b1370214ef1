/**
 * The `systemd` restarter: `systemctl restart UNIT`, then `systemctl is-active UNIT` so a
 * unit that fails right after starting is reported here rather than by the health check.
 * `unit` defaults to `{service}` (replaced by the consumer's name); `timeout_seconds`
 * (default 120) bounds each systemctl call.
 */
import type { Restarter, RestarterDriver } from "../../types.js";
import {
  parseStanza,
  rejectUnknownKeys,
  restartError,
  runRestartCommand,
  runRestartStep,
  SERVICE_PLACEHOLDER,
  type Stanza,
  StanzaProblem,
  secondsParameter,
  stanzaProblem,
  stringParameter,
  withService,
} from "../stanza.js";

export const DEFAULT_TIMEOUT_SECONDS = 120;

/** systemd's unit name characters; a leading dash would read as a systemctl option. */
const UNIT_NAME = /^[A-Za-z0-9@_.:\\][A-Za-z0-9@_.:\\-]*$/;

interface SystemdStanza {
  unit: string;
  timeoutSeconds: number;
}

function parseSystemdStanza(stanza: Stanza, service: string): SystemdStanza {
  rejectUnknownKeys(stanza, ["unit", "timeout_seconds"]);
  const unit = withService(stringParameter(stanza, "unit", SERVICE_PLACEHOLDER), service);
  if (!UNIT_NAME.test(unit)) throw new StanzaProblem(`"unit" is not a systemd unit name`);
  return {
    unit,
    timeoutSeconds: secondsParameter(stanza, "timeout_seconds", DEFAULT_TIMEOUT_SECONDS),
  };
}

export function createSystemdRestarter(stanza: Stanza, service: string): Restarter {
  const { unit, timeoutSeconds } = parseStanza(service, "systemd", () =>
    parseSystemdStanza(stanza, service),
  );
  const what = `restart of ${service}`;
  return {
    driver: "systemd",
    async restart(signal) {
      const options = { timeoutMs: timeoutSeconds * 1000, signal };
      await runRestartCommand(["systemctl", "restart", unit], what, options);
      const check = await runRestartStep(["systemctl", "is-active", unit], what, options);
      if (check.code !== 0) {
        const state = check.lastStdoutLine || `exit code ${check.code}`;
        throw restartError(`${what}: unit ${unit} is not active after the restart (${state})`);
      }
    },
  };
}

export const driver: RestarterDriver = {
  kind: "restarter",
  name: "systemd",
  // Service names are plain words, so a stand-in shows whether the template makes a unit name.
  validate: (stanza) => stanzaProblem(() => parseSystemdStanza(stanza, "service")),
  create: (stanza, context) => createSystemdRestarter(stanza, context.service),
};

/**
 * The `signal` restarter: sends `signal` (default HUP) to the process whose pid is in
 * `pid_file` (`{service}` replaced by the consumer's name). With oslo.service's
 * `restart_method='mutate'`, SIGHUP makes oslo.config re-read its files and apply the
 * options declared `mutable=True` (`debug`, log levels, ...).
 *
 * Credential options are NOT mutable: oslo.db's `[database] connection`, oslo.messaging's
 * `transport_url` and every keystoneauth / keystonemiddleware password are ignored by a
 * mutate reload ("Ignoring change to immutable option"), so a rotated password needs a
 * process restart (`command` or `systemd`). Use this restarter for non-credential reloads.
 */
import { readFile } from "node:fs/promises";
import { constants } from "node:os";
import { isProcessAlive } from "../../../src/lib/process-alive.js";
import type { Restarter, RestarterDriver } from "../../types.js";
import {
  parseStanza,
  rejectUnknownKeys,
  restartError,
  type Stanza,
  StanzaProblem,
  stanzaProblem,
  stringParameter,
  withService,
} from "../stanza.js";

interface SignalStanza {
  signal: NodeJS.Signals;
  pidFile: string;
}

function signalName(raw: string): NodeJS.Signals {
  const name = raw.toUpperCase().startsWith("SIG") ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`;
  if (!Object.hasOwn(constants.signals, name)) {
    throw new StanzaProblem(`"signal" must be a signal name such as HUP or USR1`);
  }
  return name as NodeJS.Signals;
}

function parseSignalStanza(stanza: Stanza, service: string): SignalStanza {
  rejectUnknownKeys(stanza, ["signal", "pid_file"]);
  return {
    signal: signalName(stringParameter(stanza, "signal", "HUP")),
    pidFile: withService(stringParameter(stanza, "pid_file"), service),
  };
}

async function readPid(pidFile: string, what: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(pidFile, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "read error";
    throw restartError(`${what}: cannot read the pid file ${pidFile} (${code})`, error);
  }
  const pid = /^\s*(\d+)\s*$/.exec(text) ? Number(text.trim()) : Number.NaN;
  // Pid 1 is init (or the container's entry point): never ours to signal by mistake.
  if (!Number.isSafeInteger(pid) || pid <= 1) {
    throw restartError(`${what}: the pid file ${pidFile} does not hold a process id`);
  }
  return pid;
}

export function createSignalRestarter(stanza: Stanza, service: string): Restarter {
  const { signal: signalToSend, pidFile } = parseStanza(service, "signal", () =>
    parseSignalStanza(stanza, service),
  );
  const what = `reload of ${service}`;
  return {
    driver: "signal",
    async restart(abort) {
      if (abort.aborted) throw restartError(`${what}: aborted`);
      const pid = await readPid(pidFile, what);
      if (!isProcessAlive(pid)) {
        throw restartError(`${what}: no process ${pid} (from ${pidFile}) is running`);
      }
      try {
        process.kill(pid, signalToSend);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "error";
        throw restartError(
          `${what}: cannot send ${signalToSend} to process ${pid} (${code})`,
          error,
        );
      }
    },
  };
}

export const driver: RestarterDriver = {
  kind: "restarter",
  name: "signal",
  validate: (stanza) => stanzaProblem(() => parseSignalStanza(stanza, "service")),
  create: (stanza, context) => createSignalRestarter(stanza, context.service),
};

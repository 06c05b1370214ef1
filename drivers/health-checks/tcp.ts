/** `tcp` health check: healthy when a connection to host:port is accepted. */
import { connect } from "node:net";
import type { HealthCheck } from "../../src/config/manifest-types.js";
import { errorCode, healthError, type ProbeResult } from "./probe.js";

export async function probeTcp(check: HealthCheck, signal: AbortSignal): Promise<ProbeResult> {
  const { host, port } = check;
  if (host === undefined || port === undefined) {
    throw healthError("a tcp health check needs a host and a port");
  }
  const shown = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (result: ProbeResult) => {
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = () => finish({ ok: false, detail: `${shown}: no connection` });
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => finish({ ok: true, detail: `connected to ${shown}` }));
    socket.once("error", (error) => finish({ ok: false, detail: `${shown}: ${errorCode(error)}` }));
  });
}

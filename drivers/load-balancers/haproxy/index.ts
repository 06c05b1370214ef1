/**
 * The `haproxy` load balancer: drains a server through HAProxy's runtime API (`set server
 * B/S state drain`: no new sessions, persistent ones finish), waits until `show stat` reports no
 * current or queued session, and puts it back with `state ready`.
 *
 *   load_balancer: {kind: haproxy, socket: /run/haproxy/admin.sock, backend: placement,
 *                   server: "{instance}", drain_timeout_seconds: 30}
 */
import { setTimeout as sleep } from "node:timers/promises";
import { restartError as targetError } from "../../restarters/stanza.js";
import type { LoadBalancer, LoadBalancerDriver } from "../../types.js";
import { runtimeChange, type ServerStat, showStat } from "./runtime-api.js";

export { parseShowStat, runtimeCommand, type ServerStat, showStat } from "./runtime-api.js";

const POLL_MS = 100;
/** HAProxy names: letters, digits and `-_.:`; nothing that could end a runtime command. */
const NAME = /^[A-Za-z0-9_.:-]+$/;

const isServing = (stat: ServerStat) => /^UP/.test(stat.status) || stat.status === "no check";

export function createHaproxy(options: { socket: string; backend: string }): LoadBalancer {
  const { socket, backend } = options;
  const find = (stats: ServerStat[], server: string) => {
    const found = stats.find((s) => s.backend === backend && s.server === server);
    if (!found) throw targetError(`haproxy ${socket}: no server ${backend}/${server}`);
    return found;
  };
  const checkName = (server: string) => {
    if (!NAME.test(server)) throw targetError(`haproxy: invalid server name "${server}"`);
  };
  return {
    driver: "haproxy",
    async drain(server, signal) {
      checkName(server);
      const stats = await showStat(socket);
      find(stats, server);
      const others = stats.filter((s) => s.backend === backend && s.server !== server);
      if (!others.some(isServing)) {
        throw targetError(
          `haproxy: draining ${backend}/${server} would leave backend ${backend} with no server up`,
        );
      }
      await runtimeChange(socket, `set server ${backend}/${server} state drain`);
      let last = find(await showStat(socket), server);
      while (last.scur + last.qcur > 0 && !signal.aborted) {
        await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
        last = find(await showStat(socket), server);
      }
      const open = last.scur + last.qcur;
      return open === 0
        ? { drained: true, detail: `${backend}/${server} drained` }
        : { drained: false, detail: `${backend}/${server} still had ${open} session(s)` };
    },
    async ready(server) {
      checkName(server);
      await runtimeChange(socket, `set server ${backend}/${server} state ready`);
    },
  };
}

export const driver: LoadBalancerDriver = {
  kind: "load-balancer",
  name: "haproxy",
  validate(stanza) {
    for (const key of ["socket", "backend", "server"]) {
      if (typeof stanza[key] !== "string" || stanza[key] === "") return `"${key}" is required`;
    }
    if (!NAME.test(stanza["backend"] as string))
      return `invalid backend name "${stanza["backend"]}"`;
    return undefined;
  },
  create(stanza) {
    return createHaproxy({
      socket: stanza["socket"] as string,
      backend: stanza["backend"] as string,
    });
  },
};

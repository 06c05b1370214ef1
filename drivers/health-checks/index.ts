/**
 * Health checks of restarted consumers, one small file per manifest kind (http, tcp, command),
 * each a `health-check` driver; the retry loop around them is the rotation's (wait-healthy.ts).
 */
import type { HealthCheckDriver } from "../types.js";
import { probeCommand } from "./command.js";
import { probeHttp } from "./http.js";
import { probeTcp } from "./tcp.js";

const healthCheck = (name: string, probe: HealthCheckDriver["probe"]): HealthCheckDriver => ({
  kind: "health-check",
  name,
  probe,
});

export const HEALTH_CHECK_DRIVERS: readonly HealthCheckDriver[] = [
  healthCheck("http", probeHttp),
  healthCheck("tcp", probeTcp),
  healthCheck("command", probeCommand),
];

import type { BrokerService } from "../../broker/broker-service.js";
import { NotFoundError } from "../error-codes.js";

/** 404 for a service the deployment does not have (after the access check, so no probing). */
export function requireKnownService(broker: BrokerService, service: string): void {
  if (!broker.hasService(service)) throw new NotFoundError(`service "${service}"`);
}

import type { RouteOptions } from "fastify";

type RouteHookName = "onRequest" | "onResponse";

/**
 * Adds a hook to one route from an onRoute hook, after the ones it already has: plugins that
 * know everything about a route when it is added (its access level, its template) can then
 * skip reading `request.routeOptions`, which fastify rebuilds on every access.
 */
export function appendRouteHook<K extends RouteHookName>(
  route: RouteOptions,
  name: K,
  hook: NonNullable<RouteOptions[K]>,
) {
  const existing = route[name];
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  (route as Record<K, unknown>)[name] = [...list, ...(Array.isArray(hook) ? hook : [hook])];
}

/**
 * The Prometheus scrape endpoint, as a yoga plugin: `GET /metrics` answers the registry's
 * metrics in Prometheus's text format. With a token, only `Authorization: Bearer <token>` is
 * answered (401 without one, 403 with another: operator-endpoint.ts); without one it is open to
 * anyone who can reach it, so serve it only on a network Prometheus alone can reach.
 */
import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';
import { createOperatorEndpoint } from './operator-endpoint.ts';

/** Options of `useMetricsEndpoint`. */
export interface MetricsEndpointOptions {
  /** The bearer token Prometheus presents. @default undefined (open to anyone who reaches it) */
  token?: string;
  /** Where the endpoint answers. @default '/metrics' */
  path?: string;
}

/**
 * A yoga plugin that serves `registry` (the one `createCacheMetrics` and, for the GraphQL side,
 * `@graphql-yoga/plugin-prometheus` were given) at `GET /metrics`, behind a bearer token when one
 * is set.
 */
export function useMetricsEndpoint(registry: Registry, { token, path = '/metrics' }: MetricsEndpointOptions = {}): Plugin {
  return createOperatorEndpoint({
    token,
    open: true,
    path,
    method: 'GET',
    realm: 'metrics',
    handle: async () => ({ status: 200, text: await registry.metrics(), contentType: registry.contentType }),
  });
}

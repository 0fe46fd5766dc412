/**
 * The catalog's metrics, in one prom-client registry served at `GET /metrics` (bearer
 * `METRICS_TOKEN` when set, open otherwise): the cache's (`createCacheMetrics`), the GraphQL
 * pipeline's (`@graphql-yoga/plugin-prometheus`: parse, validate, execute, errors, HTTP
 * duration) and the process's (prom-client's default metrics: CPU, memory, event loop lag, GC).
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import { createCacheMetrics, useMetricsEndpoint, type CacheMetrics } from '../plugins/index.ts';

export interface ServerMetrics {
  registry: Registry;
  /** The cache's metrics, to attach where the cache is built. */
  cache: CacheMetrics;
  /** Yoga plugins: the GraphQL pipeline's metrics, and the scrape endpoint. */
  plugins: Plugin[];
}

export function createServerMetrics({ token }: { token: string | undefined }): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    cache: createCacheMetrics({ registry }),
    plugins: [
      usePrometheus({
        registry,
        // Served below, behind the token.
        endpoint: false,
        // A label per URL would carry a GET's query and variables, and one per operation name
        // lets any client add series: the cache's metrics carry a bounded `operation` label.
        labels: { url: false, operationName: false },
      }),
      useMetricsEndpoint(registry, { token }),
    ],
  };
}

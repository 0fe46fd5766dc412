/**
 * The operators' view of the cache: `GET /cache/stats` with `Authorization: Bearer <token>`
 * answers the engine's `stats()` as JSON:
 *
 *   { "hits": 812, "misses": 95, "coalesced": 3, "degraded": false,
 *     "local": { "entries": 95, "bytes": 310272, "maxBytes": 67108864, "tags": 301, "tombstones": 2 } }
 *
 * `local` is the in-process store or tier (null when answers live only in Redis). Off without
 * a token, like every operator endpoint (operator-endpoint.ts).
 */
import type { Plugin } from 'graphql-yoga';
import { createOperatorEndpoint } from './operator-endpoint.ts';
import type { ResponseCache } from './response-cache.ts';

/** Options of `useStatsEndpoint`. */
export interface StatsEndpointOptions {
  /** The bearer token operators present. Required: `undefined` turns the endpoint off (404). */
  token: string | undefined;
  /** Where the endpoint answers. @default '/cache/stats' */
  path?: string;
}

/**
 * A yoga plugin for operators: `GET /cache/stats` with `Authorization: Bearer <token>` answers
 * the cache's `stats()` as JSON (hits, misses, coalesced, degraded, the in-process store's size).
 */
export function useStatsEndpoint(cache: ResponseCache, { token, path = '/cache/stats' }: StatsEndpointOptions): Plugin {
  return createOperatorEndpoint({ token, path, method: 'GET', realm: 'cache stats', handle: () => ({ status: 200, body: cache.stats() }) });
}

/**
 * The operators' view of the cache, as a yoga plugin: `GET /cache/stats` with
 * `Authorization: Bearer <token>` answers the engine's `stats()` as JSON:
 *
 *   { "hits": 812, "misses": 95, "coalesced": 3, "degraded": false,
 *     "local": { "entries": 95, "bytes": 310272, "maxBytes": 67108864, "tags": 301, "tombstones": 2 } }
 *
 * `local` is the in-process store or tier (null when answers live only in Redis). Like the purge
 * endpoint it exists only when a token is configured (404 otherwise); a missing token is 401 and
 * a wrong one 403.
 */
import type { Plugin } from 'graphql-yoga';
import { createOperatorAuth } from './operator-auth.ts';
import type { ResponseCache } from './response-cache.ts';

export interface StatsEndpointOptions {
  /** The bearer token operators present; unset turns the endpoint off. */
  token: string | undefined;
  /** @default '/cache/stats' */
  path?: string;
}

export function useStatsEndpoint(cache: ResponseCache, { token, path = '/cache/stats' }: StatsEndpointOptions): Plugin {
  const authorise = token === undefined ? undefined : createOperatorAuth(token, 'cache stats');
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== path || authorise === undefined) return;
      const answer = (status: number, body: object, headers: Record<string, string> = {}) =>
        endResponse(fetchAPI.Response.json(body, { status, headers: { 'cache-control': 'no-store', ...headers } }));
      if (request.method !== 'GET') return answer(405, { error: 'use GET' }, { allow: 'GET' });
      const auth = authorise(request);
      if (!auth.ok) return answer(auth.status, { error: auth.error }, auth.headers);
      return answer(200, cache.stats());
    },
  };
}

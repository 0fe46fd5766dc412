/**
 * The operators' purge endpoint, as a yoga plugin: `POST /cache/purge` with
 * `Authorization: Bearer <token>` and one of these JSON bodies:
 *
 *   { "entity": { "type": "Product", "id": "7" } }   every answer containing Product 7
 *   { "type": "Product" }                            every answer with any Product, or a list or null of them
 *   { "all": true }                                  everything
 *
 * Without a token configured the endpoint does not exist (404). A missing token is 401, a
 * wrong one 403, and neither evicts anything.
 */
import type { Plugin } from 'graphql-yoga';
import { createOperatorAuth } from './operator-auth.ts';
import type { ResponseCache } from './response-cache.ts';

export interface PurgeEndpointOptions {
  /** The bearer token operators present; unset turns the endpoint off. */
  token: string | undefined;
  /** @default '/cache/purge' */
  path?: string;
}

export function usePurgeEndpoint(cache: ResponseCache, { token, path = '/cache/purge' }: PurgeEndpointOptions): Plugin {
  const authorise = token === undefined ? undefined : createOperatorAuth(token, 'cache purge');
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== path || authorise === undefined) return;
      const answer = (status: number, body: object, headers: Record<string, string> = {}) =>
        endResponse(fetchAPI.Response.json(body, { status, headers: { 'cache-control': 'no-store', ...headers } }));

      if (request.method !== 'POST') return answer(405, { error: 'use POST' }, { allow: 'POST' });
      const auth = authorise(request);
      if (!auth.ok) return answer(auth.status, { error: auth.error }, auth.headers);

      let body: unknown;
      try {
        body = await request.json();
      } catch {
        return answer(400, { error: 'the body must be JSON' });
      }
      const command = body as { all?: unknown; type?: unknown; entity?: { type?: unknown; id?: unknown } } | null;
      const typeName = command?.entity?.type ?? command?.type;
      if (typeof typeName === 'string' && !cache.schema.getType(typeName)) {
        return answer(400, { error: `the schema has no type "${typeName}"` });
      }
      if (command?.entity && typeof typeName === 'string' && !cache.tagIndex.idField(typeName)) {
        return answer(400, { error: `"${typeName}" is not an object type with an id field` });
      }
      try {
        if (command?.all === true) {
          await cache.evictAll();
          return answer(200, { purged: 'all' });
        }
        if (typeof command?.entity?.type === 'string' && (typeof command.entity.id === 'string' || typeof command.entity.id === 'number')) {
          const evicted = await cache.evictEntity(command.entity.type, command.entity.id);
          return answer(200, { purged: 'entity', evicted });
        }
        if (typeof command?.type === 'string') {
          const evicted = await cache.evictType(command.type);
          return answer(200, { purged: 'type', evicted });
        }
      } catch {
        return answer(503, { error: 'the cache store could not be reached; nothing was purged' });
      }
      return answer(400, { error: 'expected {"all": true}, {"type": "T"} or {"entity": {"type": "T", "id": "1"}}' });
    },
  };
}

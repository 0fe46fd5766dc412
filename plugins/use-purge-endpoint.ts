/**
 * The operators' purge endpoint, as a yoga plugin: `POST /cache/purge` with
 * `Authorization: Bearer <token>` and one of these JSON bodies:
 *
 *   { "entity": { "type": "Product", "id": "7" } }   every answer containing Product 7
 *   { "type": "Product" }                            every answer with any Product, or a list or null of them
 *   { "all": true }                                  everything
 *
 * It answers 200 once the store applied the purge, and 202 `{ "pending": true }` when the store
 * could not be reached (the purge is retried, and the cache is bypassed until it applies).
 * Without a token configured the endpoint does not exist (404). A missing token is 401, a
 * wrong one 403, and neither evicts anything (operator-endpoint.ts).
 */
import type { Plugin } from 'graphql-yoga';
import { createOperatorEndpoint, type OperatorAnswer } from './operator-endpoint.ts';
import { engineOf, type ResponseCache } from './response-cache.ts';
import type { EvictionOutcome } from './eviction-guard.ts';

/** Options of `usePurgeEndpoint`. */
export interface PurgeEndpointOptions {
  /** The bearer token operators present. Required: `undefined` turns the endpoint off (404). */
  token: string | undefined;
  /** Where the endpoint answers. @default '/cache/purge' */
  path?: string;
}

/**
 * A yoga plugin for operators: `POST /cache/purge` with `Authorization: Bearer <token>` and
 * `{"entity": {"type": "Product", "id": "7"}}`, `{"type": "Product"}` or `{"all": true}`.
 * Answers what was purged as JSON; 401 without a token, 403 with a wrong one, 503 when the store
 * cannot be reached.
 */
export function usePurgeEndpoint(cache: ResponseCache, { token, path = '/cache/purge' }: PurgeEndpointOptions): Plugin {
  return createOperatorEndpoint({ token, path, method: 'POST', realm: 'cache purge', handle: (request) => purge(cache, request) });
}

async function purge(cache: ResponseCache, request: Request): Promise<OperatorAnswer> {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return { status: 400, body: { error: 'the body must be JSON' } };
  }
  const { index } = engineOf(cache);
  const command = body as { all?: unknown; type?: unknown; entity?: { type?: unknown; id?: unknown } } | null;
  const typeName = command?.entity?.type ?? command?.type;
  if (typeof typeName === 'string' && !index.schema.getType(typeName)) {
    return { status: 400, body: { error: `the schema has no type "${typeName}"` } };
  }
  if (command?.entity && typeof typeName === 'string' && !index.tags.idField(typeName)) {
    return { status: 400, body: { error: `"${typeName}" is not an object type with an id field` } };
  }
  try {
    if (command?.all === true) return answer('all', await cache.evictAll());
    if (typeof command?.entity?.type === 'string' && (typeof command.entity.id === 'string' || typeof command.entity.id === 'number')) {
      return answer('entity', await cache.evictEntity(command.entity.type, command.entity.id));
    }
    if (typeof command?.type === 'string') return answer('type', await cache.evictType(command.type));
  } catch (error) {
    // evictType refuses what no answer is indexed under (a root type), naming why.
    return { status: 400, body: { error: (error as Error).message } };
  }
  return { status: 400, body: { error: 'expected {"all": true}, {"type": "T"} or {"entity": {"type": "T", "id": "1"}}' } };
}

/**
 * 200 once the store applied the purge; 202 when it could not be reached: the purge is pending,
 * retried until it applies, and meanwhile the cache is bypassed, so nothing it names is served.
 */
function answer(purged: 'all' | 'entity' | 'type', outcome: EvictionOutcome): OperatorAnswer {
  if (outcome.pending) return { status: 202, body: { purged, pending: true } };
  return { status: 200, body: purged === 'all' ? { purged, pending: false } : { purged, evicted: outcome.evicted, pending: false } };
}

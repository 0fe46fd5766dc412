/**
 * An in-process cached yoga over the library schema, driven through `yoga.fetch`: the fast
 * layer of the tests (no sockets), with a controllable clock.
 */
import { createYoga } from 'graphql-yoga';
import { createResponseCache, type ResponseCacheOptions } from '../../plugins/response-cache.ts';
import { useResponseCache } from '../../plugins/use-response-cache.ts';
import { createMemoryStore } from '../../plugins/memory-store.ts';
import { createLibrary } from './library-schema.ts';

export interface Clock {
  now: () => number;
  advance(ms: number): void;
}

export function createClock(start = 1_700_000_000_000): Clock {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

export function sessionFromBearer(request: { headers: { get(name: string): string | null | undefined } }) {
  const match = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '');
  return match ? match[1] : null;
}

export function createCachedLibrary(options: Partial<ResponseCacheOptions> = {}) {
  const library = createLibrary();
  const clock = createClock();
  const store = options.store ?? createMemoryStore({ now: clock.now });
  const cache = createResponseCache({ schema: library.schema, store, session: sessionFromBearer, now: clock.now, ...options });
  const yoga = createYoga({ schema: library.schema, plugins: [useResponseCache(cache)], logging: false, maskedErrors: true });

  async function request(
    query: string,
    { variables, headers = {}, method = 'POST', operationName }: { variables?: object; headers?: Record<string, string>; method?: 'GET' | 'POST'; operationName?: string } = {},
  ) {
    let response: Response;
    if (method === 'GET') {
      const search = new URLSearchParams({ query });
      if (variables) search.set('variables', JSON.stringify(variables));
      if (operationName) search.set('operationName', operationName);
      response = await yoga.fetch(`http://cache.test/graphql?${search}`, { headers });
    } else {
      response = await yoga.fetch('http://cache.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables, operationName }),
      });
    }
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : undefined, xcache: response.headers.get('x-cache') };
  }
  return { ...library, clock, store, cache, yoga, request };
}

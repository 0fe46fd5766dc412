/**
 * An in-process cached yoga over the library schema, driven through `yoga.fetch`: the fast
 * layer of the tests (no sockets), with a controllable clock.
 */
import { createYoga, type Plugin } from 'graphql-yoga';
import type { GraphQLSchema } from 'graphql';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createResponseCache, type ResponseCache, type ResponseCacheOptions } from '../../plugins/response-cache.ts';
import { createFastPath } from '../../plugins/http-front.ts';
import { useResponseCache } from '../../plugins/use-response-cache.ts';
import { createMemoryStore, type MemoryStoreOptions } from '../../plugins/memory-store.ts';
import { defaultBuildCacheKey, type BuildCacheKey } from '../../plugins/cache-key.ts';
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

/**
 * A `buildKey` that counts the requests that reached the cache's lookup. The yoga plugin builds
 * the key and looks it up in the same synchronous step, so once `arrived(n)` resolves, n
 * requests are either executing or waiting on an identical in-flight miss: tests can release a
 * latch knowing every request has joined, without sleeping.
 */
export function createArrivalCounter(inner: BuildCacheKey = defaultBuildCacheKey) {
  let count = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const buildKey: BuildCacheKey = (input) => {
    const key = inner(input);
    count++;
    for (const waiter of waiters.filter((w) => w.n <= count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    return key;
  };
  return {
    buildKey,
    get count() {
      return count;
    },
    arrived: (n: number) => (count >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
  };
}

export interface HarnessOptions {
  /** Options of the default memory store (its clock is always the harness clock). */
  memoryStore?: Omit<MemoryStoreOptions, 'now'>;
  /** yoga's `batching` (a POST body may be an array of operations). @default false */
  batching?: boolean;
}

/** How often each pipeline phase ran: a hit must leave them all untouched. */
export interface PipelineSpy {
  parse: number;
  validate: number;
  context: number;
  execute: number;
}

function spyPlugin(spy: PipelineSpy): Plugin {
  return {
    onParse: () => void spy.parse++,
    onValidate: () => void spy.validate++,
    onContextBuilding: () => void spy.context++,
    onExecute: () => void spy.execute++,
  };
}

export function createCachedLibrary(options: Partial<ResponseCacheOptions> = {}, harness: HarnessOptions = {}) {
  const library = createLibrary();
  return { ...library, ...createCachedSchema(library.schema, options, harness) };
}

/** The same harness over any schema (for schemas that show what the library schema cannot). */
export function createCachedSchema(schema: GraphQLSchema, options: Partial<ResponseCacheOptions> = {}, harness: HarnessOptions = {}) {
  const clock = createClock();
  const store = options.store ?? createMemoryStore({ ...harness.memoryStore, now: clock.now });
  const cache = createResponseCache({ schema, store, session: sessionFromBearer, now: clock.now, ...options });
  const spy: PipelineSpy = { parse: 0, validate: 0, context: 0, execute: 0 };
  const yoga = createYoga({
    schema,
    plugins: [useResponseCache(cache), spyPlugin(spy)],
    logging: false,
    maskedErrors: true,
    batching: harness.batching ?? false,
  });

  const request = requester(async (url, init = {}) => yoga.fetch(url, init));
  return { clock, store, cache, yoga, spy, request };
}

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export interface HarnessRequest {
  variables?: object;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  operationName?: string;
  extensions?: object;
}

/** Sends GraphQL requests to `http://cache.test/graphql` through `send`. */
function requester(send: Fetch) {
  return async function request(query: string, { variables, headers = {}, method = 'POST', operationName, extensions }: HarnessRequest = {}) {
    let response: Response;
    if (method === 'GET') {
      const search = new URLSearchParams({ query });
      if (variables) search.set('variables', JSON.stringify(variables));
      if (operationName) search.set('operationName', operationName);
      if (extensions) search.set('extensions', JSON.stringify(extensions));
      response = await send(`http://cache.test/graphql?${search}`, { headers });
    } else {
      response = await send('http://cache.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables, operationName, extensions }),
      });
    }
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : undefined, xcache: response.headers.get('x-cache') };
  };
}

/**
 * The harness's yoga behind the node HTTP front (plugins/http-front.ts) on a loopback port: the
 * path where requests with identical bodies share one parsed, frozen params object.
 */
export async function listenWithFront(harness: { cache: ResponseCache; yoga: ReturnType<typeof createYoga> }) {
  const server = createServer(createFastPath({ cache: harness.cache, next: harness.yoga }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    request: requester((url, init) => fetch(url.replace('http://cache.test', base), init)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Headers that sign a request in as `token` (the harness's session is the bearer token). */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

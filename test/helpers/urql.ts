/**
 * A real GraphQL client (urql's core with only the fetch exchange, so urql itself caches
 * nothing) whose every answer comes back with the HTTP response it arrived in: the integration
 * tests assert `X-Cache`, `Cache-Control`, `ETag`, `Age` and the exact bytes of the body.
 */
import { Client, fetchExchange, type AnyVariables, type CombinedError, type DocumentInput } from '@urql/core';
import { request as httpRequest } from 'node:http';
import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { engineOf, type CacheEngine, type ResponseCache } from '../../plugins/response-cache.ts';

/** One HTTP response as the server sent it. */
export interface CapturedResponse {
  status: number;
  headers: Headers;
  /** The raw body text, to compare a hit's bytes with a miss's. */
  body: string;
}

export interface UrqlAnswer<Data> {
  data: Data | undefined;
  error: CombinedError | undefined;
  /** The HTTP response this answer came in. */
  http: CapturedResponse;
  /** Shorthand for `http.headers.get('x-cache')`. */
  xcache: string | null;
}

export interface RequestOptions {
  /** Extra request headers, e.g. `{ 'cache-control': 'no-cache' }`. */
  headers?: Record<string, string>;
}

export interface UrqlTestClient {
  client: Client;
  query<Data = any, Variables extends AnyVariables = AnyVariables>(
    query: DocumentInput<Data, Variables>,
    variables?: Variables,
    options?: RequestOptions,
  ): Promise<UrqlAnswer<Data>>;
  mutation<Data = any, Variables extends AnyVariables = AnyVariables>(
    query: DocumentInput<Data, Variables>,
    variables?: Variables,
    options?: RequestOptions,
  ): Promise<UrqlAnswer<Data>>;
  /** The last response this client received (any operation). */
  last(): CapturedResponse | undefined;
}

export interface UrqlClientOptions {
  /** Headers on every request of this client (e.g. a demo token). */
  headers?: Record<string, string>;
  /** Send queries as GET (`force`), never (`false`, the default here: POST is the common case). */
  preferGetMethod?: false | 'force';
}

/**
 * A urql client for `url`. `network-only`, so every call is an HTTP request. Each call
 * records its own response through an operation-level `fetch`, so concurrent calls on one
 * client never mix up their headers. (urql de-duplicates identical operations in flight:
 * tests that need many identical concurrent requests use separate clients or `sendRaw`.)
 */
export function createUrqlClient(url: string, { headers = {}, preferGetMethod = false }: UrqlClientOptions = {}): UrqlTestClient {
  let last: CapturedResponse | undefined;
  const client = new Client({
    url,
    exchanges: [fetchExchange],
    requestPolicy: 'network-only',
    preferGetMethod,
    fetchOptions: { headers },
  });

  /** A fetch that remembers the response (headers and raw body) for one operation. */
  function capturing(slot: { response?: CapturedResponse }): typeof fetch {
    return async (input, init) => {
      const response = await fetch(input, init);
      const captured = { status: response.status, headers: response.headers, body: await response.clone().text() };
      slot.response = captured;
      last = captured;
      return response;
    };
  }

  async function run<Data>(
    kind: 'query' | 'mutation',
    query: DocumentInput<Data, any>,
    variables: AnyVariables,
    { headers: extra = {} }: RequestOptions,
  ): Promise<UrqlAnswer<Data>> {
    const slot: { response?: CapturedResponse } = {};
    const context = { fetch: capturing(slot), fetchOptions: { headers: { ...headers, ...extra } } };
    const result = await client[kind](query, variables as any, context).toPromise();
    if (!slot.response) throw result.error ?? new Error('urql answered without an HTTP response');
    return { data: result.data, error: result.error, http: slot.response, xcache: slot.response.headers.get('x-cache') };
  }

  return {
    client,
    query: (query, variables = {} as any, options = {}) => run('query', query, variables, options),
    mutation: (query, variables = {} as any, options = {}) => run('mutation', query, variables, options),
    last: () => last,
  };
}

/** Signed in as user `userId` with the demo token. */
export function createUrqlClientAs(url: string, userId: number | string, options: UrqlClientOptions = {}): UrqlTestClient {
  return createUrqlClient(url, { ...options, headers: { ...options.headers, authorization: `Bearer token-${userId}` } });
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP, for what a GraphQL client hides: 304s, raw bodies, GET, odd bodies, CORS. Sent
// with node:http rather than fetch, so that the request carries exactly the headers given:
// fetch adds `Accept: */*` when there is none, and `Cache-Control: no-cache` to any request
// with an If-None-Match.

/**
 * One request with exactly these headers (plus Host, Connection and Content-Length, or
 * Transfer-Encoding: chunked when the body is given as chunks).
 */
export function sendRaw(
  url: string,
  { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string | Buffer | Buffer[] },
): Promise<CapturedResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', reject);
      response.once('end', () => {
        const received = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          if (value !== undefined) received.set(name, Array.isArray(value) ? value.join(', ') : value);
        }
        resolve({ status: response.statusCode ?? 0, headers: received, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    request.once('error', reject);
    if (Array.isArray(body)) {
      for (const chunk of body) request.write(chunk);
      request.end();
    } else {
      request.end(body);
    }
  });
}

/** A POST with a JSON (or deliberately broken) body and no Accept unless given. */
export function postRaw(url: string, body: string, headers: Record<string, string> = {}): Promise<CapturedResponse> {
  return sendRaw(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

export interface GraphQLParams {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
}

/** A POST of `{ query, variables, operationName }` exactly as given (no client normalises it). */
export function postQuery(url: string, params: GraphQLParams, headers: Record<string, string> = {}): Promise<CapturedResponse> {
  return postRaw(url, JSON.stringify(params), headers);
}

/** A GET `url?query=…` (and variables/operationName when given). */
export function getQuery(url: string, params: GraphQLParams, headers: Record<string, string> = {}): Promise<CapturedResponse> {
  const search = new URLSearchParams({ query: params.query });
  if (params.variables) search.set('variables', JSON.stringify(params.variables));
  if (params.operationName) search.set('operationName', params.operationName);
  return sendRaw(`${url}?${search}`, { headers });
}

// ---------------------------------------------------------------------------------------------
// Server-side probes, passed to `startCatalog(…, { plugins })` or laid over the server's cache:
// what lets a test over real HTTP know what the server did and when, without sleeping.

function operationNameOf(args: { document: Parameters<typeof getOperationAST>[0]; operationName?: string | null }) {
  return getOperationAST(args.document, args.operationName)?.name?.value ?? '';
}

/**
 * Counts executions by operation name ('' for anonymous ones), and requests that reached
 * yoga's plugins after the cache's: neither a hit the front answers nor one the cache plugin
 * answers (it ends the request in its own `onRequest`) adds to `requests`.
 */
export function createExecutionSpy() {
  const executions = new Map<string, number>();
  let requests = 0;
  const plugin: Plugin = {
    onRequest: () => void requests++,
    onExecute({ args }) {
      const name = operationNameOf(args);
      executions.set(name, (executions.get(name) ?? 0) + 1);
    },
  };
  return {
    plugin,
    /** Executions of the operation so named; a hit adds none. */
    executions: (operationName = '') => executions.get(operationName) ?? 0,
    /** Requests that got past the cache plugin's `onRequest` (any path). */
    get requests() {
      return requests;
    },
  };
}

export interface Latch {
  plugin: Plugin;
  /** Resolves once the first execution of the operation is held. */
  entered: Promise<void>;
  /** Lets the held execution go on. */
  release(): void;
  /** Executions of the operation so far (held or not). */
  readonly executions: number;
}

/**
 * Holds the first execution of the operation named `operationName` (later ones run freely):
 * `before` it resolves anything, or `after` it has read everything but before the cache
 * plugin's `onExecuteDone` sees the result (so before it is stored or shared). By then the
 * request has passed the front's lookup, so it holds its read ticket (and, on a miss, leads
 * the coalescing of identical requests).
 */
export function createLatch(operationName: string, where: 'before' | 'after' = 'before'): Latch {
  let enter!: () => void;
  const entered = new Promise<void>((resolve) => (enter = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let executions = 0;
  const plugin: Plugin = {
    onExecute({ args, executeFn, setExecuteFn }) {
      if (operationNameOf(args) !== operationName) return;
      if (executions++ > 0) return;
      setExecuteFn(async (execArgs) => {
        if (where === 'before') {
          enter();
          await released;
          return executeFn(execArgs);
        }
        const result = await executeFn(execArgs);
        enter();
        await released;
        return result;
      });
    },
  };
  return {
    plugin,
    entered,
    release,
    get executions() {
      return executions;
    },
  };
}

/**
 * Counts the cache's lookups (the HTTP front and the yoga plugin both call the engine's `lookup` once
 * per cacheable request, in the same step as computing its key), so a test knows when n
 * requests have reached the cache: each is then a hit, a miss holding a read ticket, or waiting
 * on an identical request in flight. Also records who looked up: the front hands the cache
 * its own request-like object, yoga a Fetch Request (which has a `url`), so a test can tell
 * which of the two answered a hit. Restores the original on `restore()`.
 */
export function watchLookups(cache: ResponseCache) {
  const engine = engineOf(cache);
  const original = engine.lookup;
  const sources: Array<'front' | 'yoga'> = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  (engine as { lookup: CacheEngine['lookup'] }).lookup = (state) => {
    const result = original.call(engine, state);
    sources.push(typeof (state.input.request as { url?: unknown }).url === 'string' ? 'yoga' : 'front');
    for (const waiter of waiters.filter((w) => w.n <= sources.length)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    return result;
  };
  return {
    get count() {
      return sources.length;
    },
    /** Who made each lookup, in order. */
    sources,
    /** Resolves once `n` lookups have been made since watching began. */
    reached: (n: number) => (sources.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
    restore() {
      (engine as { lookup: CacheEngine['lookup'] }).lookup = original;
    },
  };
}

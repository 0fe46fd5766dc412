/**
 * The GraphQL-level half of the cache, as a graphql-yoga plugin: it answers hits for requests
 * that reach yoga directly (in-process `yoga.fetch`, or anything the node front let through
 * without looking up), tracks executions, stores cacheable answers, evicts what mutations
 * wrote before their responses leave, and sets the cache headers on every GraphQL answer.
 */
import { getOperationAST, type ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { PROBE_PREFIX } from './document-plan.ts';
import { etagMatches, mergeVary } from './cache-http.ts';
import type { GraphQLRequestInput, ResponseCache } from './response-cache.ts';

export interface UseResponseCacheOptions {
  /** Where yoga serves GraphQL. @default '/graphql' */
  graphqlEndpoint?: string;
}

export function useResponseCache(
  cache: ResponseCache,
  { graphqlEndpoint = '/graphql' }: UseResponseCacheOptions = {},
): Plugin<{ request: Request }> {
  return {
    onYogaInit({ yoga }) {
      cache.setRevalidator(async ({ request, params }) => {
        const headers: Record<string, string> = {};
        request.headers.forEach((value, name) => {
          if (!REPLAY_DROPPED_HEADERS.has(name.toLowerCase())) headers[name] = value;
        });
        // no-cache: execute even though an entry exists, and store the fresh answer.
        headers['cache-control'] = 'no-cache';
        headers['content-type'] = 'application/json';
        const replay = new yoga.fetchAPI.Request(`http://revalidate.internal${graphqlEndpoint}`, {
          method: 'POST',
          headers,
          body: JSON.stringify(params),
        });
        // `handle` is yoga's inner handler, after the request hooks: plan and ticket the replay
        // here, as `onRequest` would (no-cache: it takes a ticket and never reads an entry).
        const state = cache.begin({ request: replay, params });
        await cache.lookup(state);
        cache.attach(replay, state);
        const response = await yoga.handle(replay, { waitUntil: (work: Promise<unknown> | void) => void work?.catch(() => {}) });
        await response.arrayBuffer();
      });
    },

    async onRequest({ request, serverContext, url, endResponse, fetchAPI }) {
      const carrier = (serverContext as { req?: object } | undefined)?.req;
      const fromFront = carrier && cache.stateOf(carrier);
      if (fromFront) {
        cache.attach(request, fromFront);
        return;
      }
      if (url.pathname !== graphqlEndpoint) return;
      const input = await readGraphQLRequest(request, url);
      if (!input) return;
      const state = cache.begin(input);
      cache.attach(request, state);
      if (state.mediaType === null) return;
      const result = await cache.lookup(state);
      if (result.kind === 'hit' || result.kind === 'coalesced') {
        const { status, headers, body } = cache.respond(state, result);
        endResponse(new fetchAPI.Response(body, { status, headers }));
      }
    },

    onExecute({ args, executeFn, setExecuteFn }) {
      const context = args.contextValue;
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      const state = cache.stateOf(context.request);
      if (operation === 'mutation') {
        const tracker = cache.track(context, true);
        const probed = cache.probeMutation(args.document);
        if (probed !== args.document) setExecuteFn((execArgs) => executeFn({ ...execArgs, document: probed }));
        return {
          async onExecuteDone({ result, setResult }) {
            if (isAsyncIterable(result)) return;
            // Evict before the response exists: once a client has it, no read may be stale.
            await cache.completeMutation(tracker);
            setResult(withBypassMetadata(cache, withoutProbes(result)));
          },
        };
      }
      if (operation !== 'query' || !state || state.key === undefined) {
        if (!cache.includeExtensionMetadata) return undefined;
        return {
          onExecuteDone({ result, setResult }) {
            if (!isAsyncIterable(result)) setResult(withBypassMetadata(cache, result));
          },
        };
      }
      const tracker = cache.track(context, false);
      return {
        async onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result)) {
            cache.release(state);
            return;
          }
          const body = await cache.completeQuery(state, tracker, result);
          if (body !== undefined) setResult({ ...result, stringify: () => body } as ExecutionResult);
          else setResult(withBypassMetadata(cache, result));
        },
      };
    },

    onResponse({ request, response, setResponse, fetchAPI }) {
      const state = cache.stateOf(request);
      if (state) cache.release(state);
      const type = response.headers.get('content-type') ?? '';
      if (!type.includes('json')) return;
      for (const [name, value] of Object.entries(cache.headersFor(state))) {
        if (name === 'vary') response.headers.set(name, mergeVary(response.headers.get('vary'), value));
        else response.headers.set(name, value);
      }
      // A request that executed (a miss, or no-cache as browsers send with If-None-Match) may
      // still be answered 304 when the fresh answer is what the client already holds.
      const entry = state?.answer?.entry;
      if (response.status === 200 && entry && etagMatches(request.headers.get('if-none-match'), entry.etag)) {
        const headers = new fetchAPI.Headers(response.headers);
        headers.delete('content-length');
        headers.delete('content-type');
        setResponse(new fetchAPI.Response(null, { status: 304, headers }));
      }
    },
  };
}

const REPLAY_DROPPED_HEADERS = new Set(['content-length', 'content-type', 'if-none-match', 'host', 'connection', 'transfer-encoding']);

/** The GraphQL params of a GET or JSON POST, or null for anything else (yoga handles it). */
async function readGraphQLRequest(request: Request, url: URL): Promise<GraphQLRequestInput | null> {
  if (request.method === 'GET') {
    const search = url.searchParams;
    return {
      request,
      params: { query: search.get('query') ?? undefined, operationName: search.get('operationName'), variables: search.get('variables') ?? undefined },
    };
  }
  if (request.method !== 'POST' || !(request.headers.get('content-type') ?? '').includes('json')) return null;
  try {
    const params = JSON.parse(await request.clone().text());
    if (params === null || typeof params !== 'object' || Array.isArray(params)) return null;
    return { request, params };
  } catch {
    return null;
  }
}

/** Removes the relation probes the cache added to a mutation document. */
function withoutProbes(result: ExecutionResult): ExecutionResult {
  if (!result.data) return result;
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result.data)) data[key] = stripProbes(value);
  return { ...result, data };
}

function stripProbes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripProbes);
  if (value === null || typeof value !== 'object') return value;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    if (!key.startsWith(PROBE_PREFIX)) continue;
    copy ??= { ...(value as Record<string, unknown>) };
    delete copy[key];
  }
  return copy ?? value;
}

function withBypassMetadata(cache: ResponseCache, result: ExecutionResult): ExecutionResult {
  if (!cache.includeExtensionMetadata) return result;
  return { ...result, extensions: { ...result.extensions, responseCache: { status: 'BYPASS', ttl: 0, scope: 'PUBLIC' } } };
}

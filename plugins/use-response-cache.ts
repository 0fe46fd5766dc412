/**
 * The GraphQL-level half of the cache, as a graphql-yoga plugin. For each operation of a request
 * (one, or several in a batch) it looks the answer up unless the HTTP front already did, serves
 * hits without parsing, validating or executing, tracks executions, stores cacheable answers,
 * evicts what mutations wrote before their responses leave, and sets the cache headers on every
 * GraphQL answer (one set for a batch: the strictest of its operations').
 */
import { getOperationAST, type ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { mergeVary } from './cache-http.ts';
import { acceptedParams } from './graphql-params.ts';
import { engineOf, type ResponseCache } from './response-cache.ts';
import type { RequestState } from './request-keying.ts';
import { endCacheSpan, recordLookup, startCacheSpan } from './cache-tracing.ts';

/** Options of `useResponseCache`. */
export interface UseResponseCacheOptions {
  /** Where yoga serves GraphQL (its own `graphqlEndpoint`): stale answers are refreshed there. @default '/graphql' */
  graphqlEndpoint?: string;
}

/**
 * The cache as a graphql-yoga (envelop) plugin: looks each operation up before it is parsed,
 * stores cacheable answers, evicts what mutations wrote before their responses are sent, and
 * sets `Cache-Control`, `X-Cache`, `ETag`, `Age` and `Vary` on every GraphQL answer. Use the same
 * `cache` as `createFastPath`, which answers hits before yoga.
 */
export function useResponseCache(cache: ResponseCache, { graphqlEndpoint = '/graphql' }: UseResponseCacheOptions = {}): Plugin {
  const engine = engineOf(cache);
  /** The state the HTTP front made for a request it looked up and passed on. */
  const fromFront = new WeakMap<Request, RequestState>();
  /** Every operation's state, by request: one header set is made from all of them. */
  const byRequest = new WeakMap<Request, RequestState[]>();
  /** Each operation's state, by the params object yoga puts in its context. */
  const byParams = new WeakMap<object, RequestState>();

  return {
    onYogaInit({ yoga }) {
      engine.setRevalidator(async ({ request, params }) => {
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
        const response = await yoga.handle(replay, { waitUntil: (work: Promise<unknown> | void) => void work?.catch(() => {}) });
        await response.arrayBuffer();
      });
    },

    onRequest({ request, serverContext }) {
      const carrier = (serverContext as { req?: object } | undefined)?.req;
      const state = carrier && engine.stateOf(carrier);
      if (state) fromFront.set(request, state);
    },

    async onParams({ request, params, setResult }) {
      let state = fromFront.get(request);
      if (state) {
        // The front passes on only single operations it looked up: this one, looked up once.
        fromFront.delete(request);
      } else {
        // Yoga checks the params after this hook: what it will refuse is neither read nor written.
        state = engine.begin({ request, params: acceptedParams(params) ?? REFUSED });
        startCacheSpan(state);
        if (state.keyed && state.mediaType !== null) {
          const found = await engine.lookup(state);
          recordLookup(state, found.kind);
          if (found.kind !== 'miss' && found.kind !== 'bypass') {
            const body = engine.serve(state, found);
            setResult({ stringify: () => body } as ExecutionResult);
          }
        }
      }
      // A batch may hold anything (`[5, null]`): yoga refuses what is not an object itself.
      if (typeof params === 'object' && params !== null) byParams.set(params, state);
      const states = byRequest.get(request);
      if (states) states.push(state);
      else byRequest.set(request, [state]);
    },

    onExecute({ args, executeFn, setExecuteFn }) {
      const context = args.contextValue as { params?: object };
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      const state = context.params && byParams.get(context.params);
      if (operation === 'mutation') {
        const { document, probePrefix } = engine.probeMutation(args.document);
        const tracker = engine.track(context, true, probePrefix);
        if (document !== args.document) setExecuteFn((execArgs) => executeFn({ ...execArgs, document }));
        return {
          async onExecuteDone({ result, setResult }) {
            if (isAsyncIterable(result)) return;
            // Evict before the response exists: once a client has it, no read may be stale.
            const pending = await engine.completeMutation(tracker);
            const answer = withoutProbes(result, probePrefix);
            const told = pending ? { ...answer, errors: [...(answer.errors ?? []), pending] } : answer;
            setResult(withBypassMetadata(engine.includeExtensionMetadata, told));
          },
        };
      }
      if (operation !== 'query' || !state?.keyed) {
        if (!engine.includeExtensionMetadata) return undefined;
        return {
          onExecuteDone({ result, setResult }) {
            if (!isAsyncIterable(result)) setResult(withBypassMetadata(true, result));
          },
        };
      }
      const tracker = engine.track(context, false);
      return {
        async onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result)) {
            engine.release(state);
            return;
          }
          const body = await engine.completeQuery(state, tracker, result);
          if (body !== undefined) setResult({ ...result, stringify: () => body } as ExecutionResult);
          else setResult(withBypassMetadata(engine.includeExtensionMetadata, result));
        },
      };
    },

    onResponse({ request, response, setResponse, fetchAPI }) {
      const states = byRequest.get(request) ?? [];
      for (const state of states) {
        engine.finish(state);
        endCacheSpan(state);
      }
      const type = response.headers.get('content-type') ?? '';
      if (!type.includes('json')) return;
      const { status, headers } = engine.httpAnswer(states.length > 0 ? states : [UNKNOWN], request.headers.get('if-none-match'));
      for (const [name, value] of Object.entries(headers)) {
        if (name === 'vary') response.headers.set(name, mergeVary(response.headers.get('vary'), value));
        else response.headers.set(name, value);
      }
      // A request that executed (a miss, or no-cache as browsers send with If-None-Match) may
      // still be answered 304 when the answer is what the client already holds.
      if (response.status === 200 && status === 304) {
        const notModified = new fetchAPI.Headers(response.headers);
        notModified.delete('content-length');
        notModified.delete('content-type');
        setResponse(new fetchAPI.Response(null, { status: 304, headers: notModified }));
      }
    },
  };
}

/** Params that key nothing. */
const REFUSED = {};

/** A JSON answer to something the cache never saw (an operator endpoint, a malformed body). */
const UNKNOWN: RequestState = {
  keyed: false,
  input: { request: { method: 'GET', headers: { get: () => null, forEach: () => {} } }, params: {} },
  mediaType: null,
  status: 'BYPASS',
};

const REPLAY_DROPPED_HEADERS = new Set(['content-length', 'content-type', 'if-none-match', 'host', 'connection', 'transfer-encoding']);

/** Removes the relation probes the cache added to a mutation document. */
function withoutProbes(result: ExecutionResult, probePrefix: string | undefined): ExecutionResult {
  if (!result.data || probePrefix === undefined) return result;
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result.data)) data[key] = stripProbes(value, probePrefix);
  return { ...result, data };
}

function stripProbes(value: unknown, probePrefix: string): unknown {
  if (Array.isArray(value)) return value.map((element) => stripProbes(element, probePrefix));
  if (value === null || typeof value !== 'object') return value;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    if (!key.startsWith(probePrefix)) continue;
    copy ??= { ...(value as Record<string, unknown>) };
    delete copy[key];
  }
  return copy ?? value;
}

function withBypassMetadata(includeExtensionMetadata: boolean, result: ExecutionResult): ExecutionResult {
  if (!includeExtensionMetadata) return result;
  return { ...result, extensions: { ...result.extensions, responseCache: { status: 'BYPASS', ttl: 0, scope: 'PUBLIC' } } };
}

/**
 * The HTTP front: answers cache hits straight from `node:http`, before graphql-yoga builds a
 * Fetch Request, parses, validates or builds a context. A hit costs reading the body, one
 * memoised key computation and one store lookup; its bytes are the stored answer and its
 * headers are those the pipeline would send (cache headers and CORS included).
 * Everything else goes on to yoga with the body already read and the lookup's outcome
 * attached, so a miss is looked up exactly once.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse, RequestListener } from 'node:http';
import { getCORSHeadersByRequestAndOptions, type CORSOptions } from '@whatwg-node/server';
import { engineOf, type FrontResponse, type LookupResult, type ResponseCache } from './response-cache.ts';
import { shareParams, type GraphQLRequestInput, type KeyedState, type RequestState } from './request-keying.ts';
import {
  isJsonRequestType,
  paramsFromSearch,
  resolvePersistedQuery,
  wellFormedParams,
  type GraphQLParams,
  type PersistedQueryStore,
} from './graphql-params.ts';
import type { CacheOutcomeKind } from './cache-counters.ts';
import { endCacheSpan, recordLookup, startCacheSpan } from './cache-tracing.ts';
import type { RequestLike } from './cache-key.ts';
import { mergeVary } from './cache-http.ts';
import { BoundedMemo } from './bounded-memo.ts';
import { isPromise } from './store.ts';

/** Options of `createFastPath`. `cache` and `next` are required. */
export interface FastPathOptions {
  /** The cache from `createResponseCache`, the same one `useResponseCache` was given. */
  cache: ResponseCache;
  /** The yoga instance (or any node request listener) that handles everything but hits. */
  next: RequestListener;
  /** The path hits are answered on (yoga's `graphqlEndpoint`); every other path goes to `next`. @default '/graphql' */
  graphqlEndpoint?: string;
  /** The CORS options yoga was given, so hits carry the same CORS headers. @default {} */
  cors?: CORSOptions;
  /** Bodies larger than this go to yoga unread by the front. @default 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /**
   * Whether the server is shutting down: hits are then sent with `Connection: close`, like the
   * pipeline's answers, so their connections end with them. @default () => false
   */
  connectionClose?: () => boolean;
  /**
   * The store of automatic persisted queries that yoga's `useAPQ({ store })` was given, so a
   * request that carries only a query's hash is answered here as the full query would be.
   * Without it such requests go to `next`. @default undefined (hash-only requests go to `next`)
   */
  persistedQueries?: PersistedQueryStore;
  /**
   * Called after the front sent an answer itself (a hit, a stale hit, or another request's
   * execution), with the request, its outcome and its operation's name ('' when anonymous):
   * for request logs, since such requests never reach `next`. @default a no-op
   */
  onServed?: (req: IncomingMessage, served: { outcome: Exclude<CacheOutcomeKind, 'miss' | 'bypass'>; operation: string }) => void;
}

/**
 * A `node:http` request listener that answers cache hits itself, before yoga builds a Fetch
 * Request, parses, validates or builds a context, and hands everything else to `next` with the
 * body read and the lookup done. A hit's bytes and headers are those the pipeline would send.
 *
 * @example
 * createServer(createFastPath({ cache, next: yoga })).listen(4000);
 */
export function createFastPath({
  cache,
  next,
  graphqlEndpoint = '/graphql',
  cors = {},
  maxBodyBytes = 1024 * 1024,
  connectionClose = () => false,
  persistedQueries,
  onServed = noop,
}: FastPathOptions): RequestListener {
  const engine = engineOf(cache);
  // The hit path makes no named closure per request (tsx gives each a `defineProperty` for its
  // name: about 3 µs of a hit in a profile) and no anonymous one beyond the body's two
  // listeners: the steps below are plain functions that take what they need.
  function pass(req: IncomingMessage & { body?: unknown }, res: ServerResponse, state: RequestState | undefined, body?: string | object) {
    if (state) {
      engine.attach(req, state);
      // A leader that never reaches the pipeline's end (client gone, handler crash) must not
      // leave its followers waiting.
      if (state.keyed && state.lead) res.once('close', () => engine.release(state));
    }
    // Yoga's adapter takes a body that was already read from `req.body`: the parsed params when
    // there are any (it would walk a string character by character), else the text.
    if (body !== undefined) req.body = body;
    next(req, res);
  }

  function send(res: ServerResponse, request: RequestLike, response: FrontResponse) {
    const headers: Record<string, string> = response.headers;
    const corsHeaders = getCORSHeadersByRequestAndOptions(request as unknown as Request, cors);
    if (corsHeaders) {
      const vary = mergeVary(corsHeaders.Vary, headers.vary);
      Object.assign(headers, corsHeaders);
      delete headers.Vary;
      if (vary) headers.vary = vary;
    }
    if (connectionClose()) headers.connection = 'close';
    if (response.body === null) {
      res.writeHead(response.status, headers).end();
      return;
    }
    headers['content-length'] = byteLength(response.body);
    // Sent as the string it is stored as: node joins it to the head, and no Buffer is made per hit.
    res.writeHead(response.status, headers).end(response.body, 'utf8');
  }

  function answer(req: IncomingMessage, res: ServerResponse, state: KeyedState, body: object | undefined, result: LookupResult) {
    recordLookup(state, result.kind);
    if (result.kind === 'miss' || result.kind === 'bypass') return pass(req, res, state, body);
    send(res, state.input.request, engine.respond(state, result));
    endCacheSpan(state);
    if (onServed !== noop) onServed(req, { outcome: result.kind, operation: state.operation.name });
  }

  function serve(req: IncomingMessage, res: ServerResponse, input: GraphQLRequestInput, body?: object) {
    let state: RequestState;
    try {
      state = engine.begin(input);
    } catch {
      pass(req, res, undefined, body);
      return;
    }
    startCacheSpan(state);
    if (!state.keyed || state.mediaType === null) {
      pass(req, res, state, body);
      return;
    }
    const found = engine.lookup(state);
    if ('then' in found) {
      found.then(
        (result) => answer(req, res, state as KeyedState, body, result),
        () => pass(req, res, state, body),
      );
    } else answer(req, res, state, body, found);
  }

  function onBody(req: IncomingMessage, res: ServerResponse, body: string, size: number) {
    // A chunked body declares no length: the limit is checked on what arrived.
    if (size > maxBodyBytes) return pass(req, res, undefined, body);
    let params: GraphQLParams | undefined = parsedBodies.get(body);
    if (params === undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return pass(req, res, undefined, body);
      }
      params = wellFormedParams(parsed);
      // Parsed once: a batch goes on as its array; any other value as the text yoga reads again.
      // Yoga's adapter ignores a `req.body` without keys (and reads the spent stream instead),
      // so an empty batch goes on as its text.
      if (params === undefined) return pass(req, res, undefined, Array.isArray(parsed) && parsed.length > 0 ? parsed : body);
      // Identical bodies share one parsed, frozen object (and the key work memoised on it).
      // Only small ones: hot queries are small, and the memo must not hold megabytes a client chose.
      if (body.length <= MAX_SHARED_BODY_CHARS) parsedBodies.set(body, shareParams(params));
    }
    // Yoga gets the params as sent: its own APQ plugin puts the query text back.
    withResolved(req, res, params, params);
  }

  /**
   * Serves `params` when yoga would execute them: with a query, or with the hash of a persisted
   * query the store holds (then as the full query). Everything else, a batch or params yoga
   * refuses included, is yoga's to answer.
   */
  function withResolved(req: IncomingMessage, res: ServerResponse, params: GraphQLParams, body: object | undefined) {
    const resolved = resolvePersistedQuery(params, persistedQueries);
    if (resolved === undefined) return pass(req, res, undefined, body);
    if (!isPromise(resolved)) return serve(req, res, { request: new NodeRequest(req), params: sharedResolution(params, resolved) }, body);
    resolved.then(
      (found) => (found ? serve(req, res, { request: new NodeRequest(req), params: sharedResolution(params, found) }, body) : pass(req, res, undefined, body)),
      () => pass(req, res, undefined, body),
    );
  }

  return function fastPath(req, res) {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if (path !== graphqlEndpoint) return next(req, res);

    if (req.method === 'GET') {
      if (queryAt === -1) return next(req, res);
      const params = paramsFromSearch(new URLSearchParams(url.slice(queryAt + 1)));
      if (params === undefined) return next(req, res);
      return withResolved(req, res, params, undefined);
    }

    if (req.method !== 'POST' || !isJsonRequestType(req.headers['content-type'])) return next(req, res);
    // A body something before us already read (a body-limit or body-parser middleware).
    const read = (req as IncomingMessage & { body?: unknown }).body;
    if (typeof read === 'string') return onBody(req, res, read, read.length);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) return next(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    // An aborted upload never ends: node destroys the request and its socket, and nothing is sent.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
    });
    req.on('end', () => onBody(req, res, chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks, size).toString('utf8'), size));
  };
}

// Hits send the same stored bodies again and again: measure each once.
let lastBody: string | undefined;
let lastLength = '';
const bodyLengths = new BoundedMemo<string, string>(1024);
function byteLength(body: string): string {
  if (body === lastBody) return lastLength;
  lastLength = bodyLengths.get(body) ?? bodyLengths.set(body, String(Buffer.byteLength(body, 'utf8')));
  lastBody = body;
  return lastLength;
}

// Hot queries arrive as the same bytes again and again: parse each distinct body once.
const parsedBodies = new BoundedMemo<string, GraphQLParams>(1024);
const MAX_SHARED_BODY_CHARS = 16 * 1024;

/**
 * A shared body that carries only a persisted query's hash resolves to one shared params object
 * with the text, so its key work is memoised too. The store is still asked on every request:
 * a hash it no longer holds is yoga's to refuse.
 */
const resolvedBodies = new WeakMap<GraphQLParams, GraphQLParams>();
function sharedResolution(params: GraphQLParams, resolved: GraphQLParams): GraphQLParams {
  if (resolved === params || !Object.isFrozen(params)) return resolved;
  let shared = resolvedBodies.get(params);
  if (shared === undefined || shared.query !== resolved.query) {
    shared = shareParams(resolved);
    resolvedBodies.set(params, shared);
  }
  return shared;
}

const noop = () => {};

/** The request as the cache's session and key functions see it, read from node's headers on demand. */
export class NodeRequest implements RequestLike {
  readonly method: string;
  readonly headers: NodeHeaders;
  constructor(req: IncomingMessage) {
    this.method = req.method ?? 'GET';
    this.headers = new NodeHeaders(req.headers);
  }
}

class NodeHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}

  get(name: string): string | undefined {
    const value = this.raw[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  forEach(callback: (value: string, name: string) => void): void {
    for (const [name, value] of Object.entries(this.raw)) {
      if (value !== undefined) callback(Array.isArray(value) ? value.join(', ') : value, name);
    }
  }
}

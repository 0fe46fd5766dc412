/**
 * tRPC query procedures on the response cache's store: the procedure grain of the value cache
 * (value-cache.ts), so a procedure's output gets the guarantees answers have (tickets against
 * stale write-back, coalescing of identical calls, stale-while-revalidate, errors never stored)
 * and is evicted by the same writes, GraphQL mutations or `cache.evictWrites`.
 *
 * Three parts, all without importing `@trpc/server` at run time (its types only):
 * - `trpcCacheMiddleware(cache, options)`: the middleware of one query procedure. A hit answers
 *   without calling `next()`: a tRPC middleware result is `{ ok, data }` (its `marker` brands it
 *   for the type checker only), which is what the middleware returns with the stored output.
 * - `withTrpcCacheContext(cache, createContext)`: notes, on each request's context, who the
 *   request is for and how each of its calls was served.
 * - `trpcCacheResponseMeta` (trpc-response-meta.ts): the HTTP headers of the whole request.
 */
import type { IncomingMessage } from 'node:http';
import { getNamedType, getNullableType, isCompositeType, isListType, isObjectType, type GraphQLCompositeType } from 'graphql';
import type { TRPCMiddlewareFunction } from '@trpc/server';
import { stringify } from 'safe-stable-stringify';
import type { RequestLike } from './cache-key.ts';
import type { CacheableAnswer, CacheStatus } from './cache-http.ts';
import { NodeRequest } from './http-front.ts';
import { valueTags, type ValuePlace } from './output-tags.ts';
import { engineOf, type ResponseCache } from './response-cache.ts';
import type { SchemaIndex } from './schema-index.ts';
import type { CacheScope } from './store.ts';
import { valueKey, type ServedValue, type ValuePolicy, type ValueRequest } from './value-cache.ts';

/**
 * The list of the schema a procedure's output stands for: a field coordinate (`'Query.products'`),
 * or a `@cacheList` field with the id of its parent (`{ field: 'Category.products', parent: '3' }`).
 */
export type TrpcOutputList = string | { field: string; parent: string | number };

/** Options of `trpcCacheMiddleware`. `maxAge` is required. */
export interface TrpcCacheMiddlewareOptions<Input = unknown> {
  /** Seconds an output stays fresh: a whole number above 0. */
  maxAge: number;
  /**
   * PUBLIC outputs are shared by everyone; PRIVATE ones are kept per session (`session` of the
   * cache, or of `withTrpcCacheContext`), and never for a call without one.
   * @default 'PUBLIC'
   */
  scope?: CacheScope;
  /** Seconds past `maxAge` a stale output may still be served while one call refreshes it. @default 0 */
  swr?: number;
  /**
   * The GraphQL type of the output, or of each element of a list output: its objects are tagged
   * with their entity (through the schema's id fields) and type, and their properties named like
   * the type's fields are read as those fields (nested objects, lists, nulls), as in an answer.
   * @default the type of the `list` field; without one, only objects carrying `__typename` are tagged
   */
  type?: string;
  /**
   * The list the output is, for the list tag a GraphQL list earns: `'Query.products'`, or
   * `{ field: 'Category.products', parent: input.categoryId }` for a `@cacheList` list, or a
   * function of the input that answers either (or undefined: no list).
   * @default none: the output is not a list of the schema
   */
  list?: TrpcOutputList | ((input: Input) => TrpcOutputList | undefined);
}

/** Options of `withTrpcCacheContext`. */
export interface TrpcCacheContextOptions {
  /**
   * Who a request is for, from its headers alone: PRIVATE outputs are kept per session.
   * @default the `session` the cache was given
   */
  session?: (request: RequestLike) => string | null | undefined;
  /** The request headers `session` reads: sent as `Vary` on responses with a PRIVATE output. @default the cache's `sessionHeaders` */
  sessionHeaders?: readonly string[];
}

/** How one call of a request was served, as the response's headers need it. */
export interface TrpcCallOutcome {
  status: CacheStatus;
  /** Present when the output may be kept by HTTP caches too. */
  answer: CacheableAnswer | undefined;
  vary: readonly string[];
}

/** What `withTrpcCacheContext` notes on a request's context. Internal. */
export interface TrpcRequestRecord {
  session(): string | null;
  /** The cache's clock. */
  readonly now: () => number;
  readonly sessionHeaders: readonly string[];
  /** By the call's index in its batch. */
  readonly calls: Map<number, TrpcCallOutcome>;
}

/**
 * A symbol-keyed property, not a WeakMap keyed by the context: tRPC copies the context for each
 * middleware that extends it (`next({ ctx })`), and an enumerable property travels with the copies.
 */
const RECORD = Symbol('graphql-cache-layer.trpcRequest');

export function recordOf(ctx: unknown): TrpcRequestRecord | undefined {
  return ctx !== null && typeof ctx === 'object' ? (ctx as { [RECORD]?: TrpcRequestRecord })[RECORD] : undefined;
}

/** What tRPC's adapters give `createContext`: the request, as node's or as a Fetch `Request`. */
export interface TrpcContextOptions {
  req: IncomingMessage | Request;
}

/**
 * Wraps a tRPC `createContext` so that the cache middleware and `trpcCacheResponseMeta` can
 * find, on the context, who the request is for and how each call was served. Give the result
 * to tRPC's adapter as its `createContext`.
 *
 * @example
 * createHTTPHandler({ router, createContext: withTrpcCacheContext(cache, createContext), responseMeta: trpcCacheResponseMeta })
 */
export function withTrpcCacheContext<Options extends TrpcContextOptions, Context extends object>(
  cache: ResponseCache,
  createContext: (options: Options) => Context | Promise<Context>,
  { session = engineOf(cache).session, sessionHeaders = engineOf(cache).sessionHeaders }: TrpcCacheContextOptions = {},
): (options: Options) => Promise<Context> {
  return async (options) => {
    const context = await createContext(options);
    const { req } = options;
    let known: string | null | undefined;
    const record: TrpcRequestRecord = {
      session: () => (known === undefined ? (known = session(req instanceof Request ? req : new NodeRequest(req)) ?? null) : known),
      sessionHeaders,
      now: engineOf(cache).now,
      calls: new Map(),
    };
    Object.defineProperty(context, RECORD, { value: record, enumerable: true });
    return context;
  };
}

/**
 * tRPC brands middleware results with this string for the type checker; its procedure caller
 * reads only `ok`, `data` and `error`, so a result built here is one like `next()`'s.
 */
const MIDDLEWARE_MARKER = 'middlewareMarker';
const NOT_CACHED: TrpcCallOutcome = { status: 'BYPASS', answer: undefined, vary: [] };

/**
 * The cache middleware of one tRPC query procedure: its output is kept in the cache's store
 * under the procedure's path, its input (as the validators before it left it) and, for PRIVATE
 * procedures, the session; tagged by what it holds (`type`, `list`), so that the writes that
 * evict GraphQL answers holding the same objects evict it too. Put it after `.input(...)`:
 * bad input is refused before it runs, and nothing of a failed call is stored. Throws at once,
 * naming the bad value, when an option is not usable.
 *
 * @example
 * t.procedure.input(z.object({ id: z.string() })).use(trpcCacheMiddleware(cache, { maxAge: 60, type: 'Book' })).query(...)
 */
export function trpcCacheMiddleware<Input = unknown>(
  cache: ResponseCache,
  options: TrpcCacheMiddlewareOptions<Input>,
): TRPCMiddlewareFunction<object, unknown, object, object, Input> {
  const { index, values } = engineOf(cache);
  const { maxAge, scope = 'PUBLIC', swr = 0, type, list } = options ?? ({} as TrpcCacheMiddlewareOptions<Input>);
  if (!(Number.isInteger(maxAge) && maxAge > 0)) throw new TypeError(`trpcCacheMiddleware: expected maxAge to be a whole number of seconds above 0, got ${JSON.stringify(maxAge)}`);
  if (!(Number.isInteger(swr) && swr >= 0)) throw new TypeError(`trpcCacheMiddleware: expected swr to be a whole number of seconds >= 0, got ${JSON.stringify(swr)}`);
  if (scope !== 'PUBLIC' && scope !== 'PRIVATE') throw new TypeError(`trpcCacheMiddleware: expected scope to be PUBLIC or PRIVATE, got ${JSON.stringify(scope)}`);
  const declared = type === undefined ? undefined : compositeType(index, type);
  const staticPlace = list === undefined || typeof list === 'function' ? undefined : placeOf(index, list);
  const policy: ValuePolicy = { maxAgeMs: maxAge * 1000, swrMs: swr * 1000, scope };

  return async function cachedProcedure({ ctx, type: procedureType, path, input, getRawInput, next, batchIndex }) {
    if (procedureType !== 'query') throw new TypeError(`trpcCacheMiddleware on ${path}: only queries are cached, not a ${procedureType}`);
    const record = recordOf(ctx);
    if (record === undefined) throw new TypeError(`trpcCacheMiddleware on ${path}: the context has no cache record; give tRPC's adapter withTrpcCacheContext(cache, createContext)`);
    // Keyed on the input as the validators left it, or, before any, as the client sent it.
    const identity = input !== undefined ? input : await getRawInput();
    const session = scope === 'PRIVATE' ? record.session() : null;
    if (scope === 'PRIVATE' && session === null) {
      values.notCached('trpc', path);
      record.calls.set(batchIndex, NOT_CACHED);
      return next();
    }
    const place = typeof list === 'function' ? optionalPlace(index, list(identity as Input)) : staticPlace;
    const request: ValueRequest<unknown> = {
      grain: 'trpc',
      operation: path,
      key: valueKey('trpc', path, stringify({ input: identity, session }) ?? ''),
      policy,
      tagsOf: (value) => valueTags(index, declared, value, place),
    };
    let result: Awaited<ReturnType<typeof next>> | undefined;
    try {
      const served = await values.get(request, async () => {
        result = await next();
        if (!result.ok) throw result.error;
        return result.data;
      });
      record.calls.set(batchIndex, outcomeOf(served, policy, session === null ? [] : record.sessionHeaders));
      if ((served.kind === 'miss' || served.kind === 'bypass') && result?.ok) return result;
      return { ok: true, data: served.value, marker: MIDDLEWARE_MARKER } as Awaited<ReturnType<typeof next>>;
    } catch (error) {
      record.calls.set(batchIndex, { status: 'MISS', answer: undefined, vary: [] });
      if (result && !result.ok) return result;
      throw error;
    }
  };
}

function outcomeOf(served: ServedValue<unknown>, policy: ValuePolicy, vary: readonly string[]): TrpcCallOutcome {
  const { kind, life } = served;
  // Computed without the cache (degraded, or not keyed): HTTP caches may not keep it either.
  if (kind === 'bypass' || life === undefined) return NOT_CACHED;
  const fromCache = kind === 'hit' || kind === 'stale';
  const entry = { body: '', etag: '', tags: [], createdAt: life.createdAt, maxAgeMs: life.maxAgeMs, swrMs: policy.swrMs, scope: policy.scope };
  return { status: fromCache ? 'HIT' : 'MISS', answer: { entry, fromCache, coalesced: kind === 'coalesced' }, vary };
}

function compositeType(index: SchemaIndex, name: string): GraphQLCompositeType {
  const found = index.schema.getType(name);
  if (!found || !isCompositeType(found)) throw new TypeError(`trpcCacheMiddleware: expected type to name an object, interface or union type of the schema, got ${JSON.stringify(name)}`);
  return found;
}

function optionalPlace(index: SchemaIndex, list: TrpcOutputList | undefined): ValuePlace | undefined {
  return list === undefined ? undefined : placeOf(index, list);
}

/** The field a `list` names, checked against the schema: a list of objects, with a parent id exactly when its lists are per parent. */
function placeOf(index: SchemaIndex, list: TrpcOutputList): ValuePlace {
  const { field: coordinate, parent } = typeof list === 'string' ? { field: list, parent: undefined } : (list ?? {});
  const [typeName, fieldName, extra] = typeof coordinate === 'string' ? coordinate.split('.') : [];
  const owner = typeName === undefined ? undefined : index.schema.getType(typeName);
  const field = isObjectType(owner) && fieldName !== undefined && extra === undefined ? owner.getFields()[fieldName] : undefined;
  if (!field || !isListType(getNullableType(field.type)) || !isCompositeType(getNamedType(field.type))) {
    throw new TypeError(`trpcCacheMiddleware: expected list to name a field of the schema that returns a list of objects ('Query.products'), got ${JSON.stringify(list)}`);
  }
  const perParent = index.tags.relations.perParentLists.has(coordinate);
  if (perParent && (parent === undefined || parent === null || parent === '')) {
    throw new TypeError(`trpcCacheMiddleware: ${coordinate} is a @cacheList list, kept per parent: give { field: '${coordinate}', parent: <the ${typeName}'s id> }, got ${JSON.stringify(list)}`);
  }
  if (!perParent && parent !== undefined) {
    throw new TypeError(`trpcCacheMiddleware: ${coordinate} has no @cacheList, so its lists are not kept per parent: give '${coordinate}' alone, got ${JSON.stringify(list)}`);
  }
  return perParent ? { coordinate, field, parentId: parent! } : { coordinate, field };
}

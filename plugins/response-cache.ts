/**
 * The response cache: one per server, for any schema. `createResponseCache` wires its parts:
 * what it derives from the schema (schema-index.ts), request keying (request-keying.ts),
 * coalescing (coalescer.ts), the eviction guard (eviction-guard.ts), HTTP headers
 * (cache-http.ts) and the store. Users get `ResponseCache`: evict, purge, stats, close. The
 * HTTP front and the GraphQL plugin speak to the engine behind it (`engineOf`), which is not
 * part of the public API.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { GraphQLError, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { HintConfig } from './cache-hints.ts';
import { entityTag } from './cache-tags.ts';
import { createDocumentPlanner, createRelationProber, type ProbedMutation } from './document-plan.ts';
import { defaultBuildCacheKey, type BuildCacheKey, type RequestLike } from './cache-key.ts';
import { createTracker, instrumentSchema, trackerSettled, type Tracker } from './execution-tracker.ts';
import {
  batchCacheHeaders,
  cacheHeaders,
  etagMatches,
  freshSeconds,
  withMetadata,
  type CacheOutcome,
} from './cache-http.ts';
import { createCoalescer } from './coalescer.ts';
import { createCacheCounters, type CacheEvent, type CacheGrain, type GrainCounts } from './cache-counters.ts';
import { createFunctionCache, type CachedFunctions } from './cached-functions.ts';
import type { CachedFieldConfig } from './cached-fields.ts';
import { createEvictionGuard, type EvictEvent, type EvictionOutcome, type PendingEvictions } from './eviction-guard.ts';
import { createMemoryStore } from './memory-store.ts';
import { createRequestKeying, type GraphQLRequestInput, type KeyedState, type RequestState } from './request-keying.ts';
import { buildSchemaIndex, type SchemaIndex } from './schema-index.ts';
import { createValueCache, type ValueCache } from './value-cache.ts';
import { createWriteTagger, type Write } from './write-tags.ts';
import type { CacheEntry, CacheScope, CacheStore, Lookup, MaybePromise, ReadTicket, StoreStats } from './store.ts';

/** Where the cache reports what it absorbed: yoga's logger, pino, `console` all fit. */
export interface CacheLogger {
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

/** Options of `createResponseCache`. Only `schema` is required. */
export interface ResponseCacheOptions {
  /** The executable schema; its resolvers are instrumented once, at start-up. */
  schema: GraphQLSchema;
  /** Where answers live. @default createMemoryStore() (64 MiB, in process) */
  store?: CacheStore;
  /**
   * Who a request is for, from its headers alone (so a front can compute it before parsing
   * anything else). PRIVATE answers are stored per session and never without one.
   * @default () => null (no PRIVATE answer is ever cached)
   */
  session?: (request: RequestLike) => string | null | undefined;
  /** Seconds for root fields and composite fields without a hint. @default 0 (not cached) */
  defaultMaxAge?: number;
  /** Hints by type or field, merged over `@cacheControl` (config wins). @default {} */
  hints?: HintConfig;
  /**
   * Fields whose resolved values are cached, by coordinate, merged over `@cacheResolver` (config
   * wins): `{ 'Query.search': { maxAge: 30 } }`. A field the schema lacks stops start-up.
   * @default {}
   */
  cachedFields?: CachedFieldConfig;
  /** Id field per object type. @default {} (every type with an `id` field uses it) */
  idFields?: Record<string, string>;
  /**
   * The request headers `session` reads: sent as `Vary` on answers keyed per session.
   * @default ['Authorization']
   */
  sessionHeaders?: string[];
  /** Cache introspection queries. @default false */
  cacheIntrospection?: boolean;
  /** Add `extensions.responseCache = { status, ttl, scope }` to answers. @default false */
  includeExtensionMetadata?: boolean;
  /** Replaces or extends the key; `defaultBuildCacheKey` is exported to build on. @default defaultBuildCacheKey */
  buildKey?: BuildCacheKey;
  /** Whether a result may be stored at all; errors never are. @default defaultShouldCacheResult */
  shouldCacheResult?: (result: ExecutionResult) => boolean;
  /** Let concurrent identical misses share one execution. @default true */
  coalesce?: boolean;
  /** The clock, in ms since the Unix epoch. @default Date.now */
  now?: () => number;
  /** Where failed evictions and refreshes, and store failures the cache absorbed, are reported. @default a logger that says nothing */
  logger?: CacheLogger;
  /**
   * The longest wait between retries of a failed eviction, in ms: the first comes after 100 ms
   * at most, then the wait doubles. The cache is bypassed until one succeeds. @default 1000
   */
  evictionRetryMs?: number;
  /**
   * How long a mutation's response waits, in ms, for an eviction the store could not apply at
   * once (Redis unreachable), while it is retried. Past it the response carries, besides its
   * data, an error with code `CACHE_EVICTION_PENDING`: other instances may still serve the old
   * answers. @default 2000
   */
  evictionWaitMs?: number;
  /** Called for every value served from the cache, fresh or stale, of every grain. @default no-op */
  onHit?: (event: CacheEvent) => void;
  /** Called for every value looked up, not found and executed, or coalesced with another execution. @default no-op */
  onMiss?: (event: CacheEvent) => void;
  /** Called for every request the cache neither read nor wrote for (not cacheable, or degraded). @default no-op */
  onBypass?: (event: CacheEvent) => void;
  /** Called after the store applied an eviction: its tags and how many answers went, or `all`, and why. @default no-op */
  onEvict?: (event: EvictEvent) => void;
}

/** Errors are never cached. */
export const defaultShouldCacheResult = (result: ExecutionResult): boolean => !result.errors?.length;

/**
 * A response cache, as its users call it: cache functions and batch functions on it, evict what
 * writes outside GraphQL change, purge, stats and close. Give it to `useResponseCache` and
 * `createFastPath`.
 */
export interface ResponseCache extends CachedFunctions {
  /**
   * Evicts what writes made outside GraphQL change (a tRPC procedure, a REST handler), by the
   * rules of a GraphQL mutation that returned the written objects: each object's entity, what
   * writing its type evicts, and the `@cacheList(via:)` lists it is in now and was in before
   * (`previous`, or the version `withPreviousVersion` attached), found by the schema's resolvers
   * of the via fields, called with `context`. Resolves once the store applied the eviction, or,
   * when it could not, after waiting up to `evictionWaitMs` for a retry: then `pending` is true
   * and other instances may serve the old values until a retry applies it (this one bypasses its
   * cache meanwhile). Call it before the write's response is sent.
   * @example await cache.evictWrites([{ type: 'Product', object: after, previous: before }], context)
   */
  evictWrites(writes: readonly Write[], context: unknown): Promise<EvictionOutcome>;
  /** Drops every answer that contains this object. Pending (and the cache bypassed) when the store is unreachable. */
  evictEntity(typeName: string, id: string | number): Promise<EvictionOutcome>;
  /** Drops every answer that contains any object of this type, or a list or null of it. */
  evictType(typeName: string): Promise<EvictionOutcome>;
  /** Drops everything this cache stored. */
  evictAll(): Promise<EvictionOutcome>;
  /** Whether failed evictions are pending (the cache is bypassed until they succeed). */
  readonly degraded: boolean;
  /** Counts since start-up, pending evictions, and the in-process store's size when there is one. */
  stats(): CacheStats;
  /** Stops retrying evictions and closes the store (and the Redis clients it made). */
  close(): Promise<void>;
}

/** One grain's counts, and how many of its entries the in-process store holds. */
export interface GrainStats extends GrainCounts {
  /** Entries of this grain in the in-process store or tier; null when values live only outside the process (Redis). */
  entries: number | null;
}

export interface CacheStats extends GrainCounts {
  /** The same counts for each grain that has counted something or holds entries (`response`, `field`, `function`, `trpc`). */
  grains: Partial<Record<CacheGrain, GrainStats>>;
  /** Whether failed evictions are pending (the cache is bypassed until they succeed). */
  degraded: boolean;
  /** What is waiting for a retry. */
  pendingEvictions: PendingEvictions;
  /** The in-process store or tier; null when answers live only outside the process (Redis). */
  local: StoreStats | null;
}

/** A response a front can send as it is. */
export interface FrontResponse {
  status: number;
  headers: Record<string, string>;
  body: string | null;
}

/** An answer taken from the cache: fresh, stale (while one refresh runs) or another request's execution. */
export type ServedResult = { kind: 'hit' | 'stale' | 'coalesced'; entry: CacheEntry };
export type LookupResult = ServedResult | { kind: 'miss' } | { kind: 'bypass' };

/** The protocol between the cache's fronts (HTTP, GraphQL plugin) and its engine. Internal. */
export interface CacheEngine {
  readonly index: SchemaIndex;
  readonly store: CacheStore;
  /**
   * The value cache of the resolver-level grains (functions, batches, fields, tRPC procedures):
   * the same store, eviction guard, counters, events and clock as answers.
   */
  readonly values: ValueCache;
  readonly includeExtensionMetadata: boolean;
  /** Who a request is for, as the cache was told (`session`), and the headers that function reads. */
  readonly session: (request: RequestLike) => string | null | undefined;
  readonly sessionHeaders: readonly string[];
  /** The cache's clock, in ms since the Unix epoch. */
  readonly now: () => number;
  /** Keys the request and decides whether it may be read from the cache. Synchronous. */
  begin(input: GraphQLRequestInput): RequestState;
  /** One store lookup (none when an identical miss is already executing, or when bypassing). */
  lookup(state: RequestState): MaybePromise<LookupResult>;
  /** Records a served answer on its request; returns the body to send (with metadata when asked). */
  serve(state: KeyedState, result: ServedResult): string;
  /** The whole response for a served answer, for a front that sends it itself. */
  respond(state: KeyedState, result: ServedResult): FrontResponse;
  /**
   * The status (200, or 304 when `If-None-Match` names the answer) and cache headers for a
   * request's answer; for a batch, one set of headers for all its operations.
   */
  httpAnswer(states: readonly RequestState[], ifNoneMatch: string | null | undefined): { status: 200 | 304; headers: Record<string, string> };
  /** Remembers a request's state under the object that carries it through the pipeline. */
  attach(carrier: object, state: RequestState): void;
  stateOf(carrier: object): RequestState | undefined;
  /** Starts watching an execution; returns the tracker its resolvers report to. */
  track(context: object, mutation: boolean, probePrefix?: string): Tracker;
  /** The mutation document with relation probes for its written objects. */
  probeMutation(document: DocumentNode): ProbedMutation;
  /** Stores a finished query's answer if it may; returns the body to send when it serialised one. */
  completeQuery(state: KeyedState, tracker: Tracker, result: ExecutionResult): Promise<string | undefined>;
  /**
   * Evicts what a finished mutation wrote, before its response is sent. Resolves to an error to
   * add to the response when the eviction could not be applied within `evictionWaitMs`.
   */
  completeMutation(tracker: Tracker): Promise<GraphQLError | undefined>;
  /** Lets waiting followers go when a leader ends without an answer to share. */
  release(state: RequestState): void;
  /** A request's answer is sent: releases its followers, and counts it if the cache bypassed it. */
  finish(state: RequestState): void;
  /**
   * How a stale entry inside its `swr` window is refreshed: the plugin replays the request
   * through yoga with `Cache-Control: no-cache`. Without one, stale entries are misses.
   */
  setRevalidator(revalidate: (input: GraphQLRequestInput) => Promise<void>): void;
}

const engines = new WeakMap<ResponseCache, CacheEngine>();

/** The engine behind a cache, for the fronts that serve it. Throws for anything `createResponseCache` did not make. */
export function engineOf(cache: ResponseCache): CacheEngine {
  const engine = engines.get(cache);
  if (!engine) throw new TypeError('expected a cache made by createResponseCache');
  return engine;
}

const silentLogger: CacheLogger = { warn() {}, error() {} };
const GRAINS: readonly CacheGrain[] = ['response', 'field', 'function', 'trpc'];
const noop = () => {};
const BYPASS: LookupResult = { kind: 'bypass' };
const MISS: LookupResult = { kind: 'miss' };
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The response cache for `schema`: one per server, shared by `useResponseCache` (yoga) and
 * `createFastPath` (node:http). Instruments the schema's resolvers in place, once: a second
 * cache over the same schema object throws. Throws at start-up, naming the bad value, when an
 * option is not usable or the hints or id fields name what the schema lacks.
 *
 * @example
 * const cache = createResponseCache({ schema, store: createCacheStore({ redis: process.env.REDIS_URL }), session });
 * const yoga = createYoga({ schema, plugins: [useResponseCache(cache)] });
 * createServer(createFastPath({ cache, next: yoga })).listen(4000);
 */
export function createResponseCache({
  schema,
  store = createMemoryStore(),
  session = () => null,
  sessionHeaders = ['Authorization'],
  defaultMaxAge = 0,
  hints = {},
  cachedFields = {},
  idFields = {},
  cacheIntrospection = false,
  includeExtensionMetadata = false,
  buildKey = defaultBuildCacheKey,
  shouldCacheResult = defaultShouldCacheResult,
  coalesce = true,
  now = Date.now,
  logger = silentLogger,
  evictionRetryMs = 1000,
  evictionWaitMs = 2000,
  onHit = noop,
  onMiss = noop,
  onBypass = noop,
  onEvict = noop,
}: ResponseCacheOptions): ResponseCache {
  if (!Number.isInteger(evictionWaitMs) || evictionWaitMs < 0) {
    throw new Error(`expected evictionWaitMs to be a whole number of ms >= 0, got ${JSON.stringify(evictionWaitMs)}`);
  }
  if (!Number.isInteger(defaultMaxAge) || defaultMaxAge < 0) {
    throw new Error(`expected defaultMaxAge to be a whole number of seconds >= 0, got ${JSON.stringify(defaultMaxAge)}`);
  }
  const index = buildSchemaIndex(schema, { hints, idFields, defaultMaxAge, cachedFields });
  const keying = createRequestKeying({ planner: createDocumentPlanner(index), session, buildKey, cacheIntrospection });
  const probeMutation = createRelationProber(index);
  const coalescer = createCoalescer<CacheEntry>();
  const guard = createEvictionGuard({
    store,
    retryMs: evictionRetryMs,
    onError: (error, operation) => logger.error(`response cache: ${operation === 'clear' ? 'clearing' : 'an eviction'} failed; the cache is bypassed until a retry applies it`, error),
    onEvict,
  });
  const trackers = new WeakMap<object, Tracker>();
  const states = new WeakMap<object, RequestState>();
  const revalidating = new Set<string>();
  let revalidator: ((input: GraphQLRequestInput) => Promise<void>) | undefined;
  const counters = createCacheCounters();
  const listening = <T>(listener: T): T | undefined => (listener === noop ? undefined : listener);
  const values = createValueCache({ store, guard, counters, now, logger, onHit: listening(onHit), onMiss: listening(onMiss), onBypass: listening(onBypass) });
  const functions = createFunctionCache(values, index);
  // ETags are keyed hashes: stable for the same key and body on this instance, and worthless to
  // anyone testing guesses of a PRIVATE body (an email, say) against a header they saw.
  const etagSecret = randomBytes(32);
  const writeTags = createWriteTagger(index);
  instrumentSchema(index, {
    trackerOf: (context) => trackers.get(context as object),
    remainingSeconds: functions.remainingSeconds,
    values,
    session,
  });

  function lookup(state: RequestState): MaybePromise<LookupResult> {
    if (!state.keyed || guard.degraded) return BYPASS;
    // No-cache and no-store execute; a no-cache answer refreshes the entry, so it needs a ticket.
    if (!state.readable) return state.storable ? withTicket(state, BYPASS) : BYPASS;
    const following = coalesce ? coalescer.follow(state.key) : undefined;
    if (following) return follow(state, following, undefined);
    const found = store.get(state.key);
    return isPromise(found) ? found.then((lookup) => afterGet(state, lookup)) : afterGet(state, found);
  }

  function afterGet(state: KeyedState, { entry, ticket }: Lookup): MaybePromise<LookupResult> {
    if (entry) {
      const age = now() - entry.createdAt;
      if (age < entry.maxAgeMs) return { kind: 'hit', entry };
      if (revalidator && age < entry.maxAgeMs + entry.swrMs) {
        revalidate(state);
        return { kind: 'stale', entry };
      }
    }
    if (coalesce) {
      const lead = coalescer.lead(state.key);
      // An identical miss became the leader while this lookup was in flight (a slow store):
      // join it rather than execute again.
      if (lead === undefined) return follow(state, coalescer.follow(state.key)!, ticket);
      state.lead = lead;
    }
    state.ticket = ticket;
    return MISS;
  }

  /**
   * Waits for the leader's answer. When it has none to share, this request executes itself,
   * with the ticket of its own lookup if it made one: older than anything the leader saw, so it
   * can store no more than the leader could.
   */
  function follow(state: KeyedState, leader: Promise<CacheEntry | null>, ticket: ReadTicket | undefined): Promise<LookupResult> {
    return leader.then((entry): MaybePromise<LookupResult> => {
      if (entry) return { kind: 'coalesced', entry };
      if (ticket === undefined) return withTicket(state, MISS);
      state.ticket = ticket;
      return MISS;
    });
  }

  /** Requests that execute without a lookup still need a ticket to store what they produce. */
  function withTicket(state: KeyedState, result: LookupResult): MaybePromise<LookupResult> {
    const keep = (ticket: ReadTicket) => {
      state.ticket = ticket;
      return result;
    };
    const ticket = store.ticket ? store.ticket(state.key) : mapMaybe(store.get(state.key), (found) => found.ticket);
    return isPromise(ticket) ? ticket.then(keep) : keep(ticket);
  }

  /** One refresh per key at a time; meanwhile everyone is served the stale entry. */
  function revalidate(state: KeyedState) {
    const { key } = state;
    if (revalidating.has(key)) return;
    revalidating.add(key);
    revalidator!(state.input)
      .catch((error) => logger.warn('response cache: refreshing a stale answer failed', error))
      .finally(() => revalidating.delete(key));
  }

  function serve(state: KeyedState, result: ServedResult): string {
    const { entry, kind } = result;
    const fromCache = kind !== 'coalesced';
    counters.record('response', kind);
    state.status = fromCache ? 'HIT' : 'MISS';
    state.answer = { entry, fromCache, coalesced: !fromCache };
    const notify = fromCache ? onHit : onMiss;
    // Built only when someone reads it: a hit is the hot path.
    if (notify === noop && !includeExtensionMetadata) return entry.body;
    const ttl = freshSeconds(entry, now(), fromCache);
    if (notify !== noop) notify({ grain: 'response', kind, operation: state.operation.name, key: state.key, ttl, scope: entry.scope });
    return includeExtensionMetadata ? withMetadata(entry.body, { status: state.status, ttl, scope: entry.scope }) : entry.body;
  }

  function finish(state: RequestState) {
    release(state);
    if (state.status !== 'BYPASS' || state.counted) return;
    state.counted = true;
    counters.record('response', 'bypass');
    if (onBypass !== noop) {
      const { operationName } = state.input.params;
      const operation = state.operation?.name ?? (typeof operationName === 'string' ? operationName : '');
      onBypass({ grain: 'response', kind: 'bypass', operation, ...(state.keyed && { key: state.key }) });
    }
  }

  function varyOf(state: RequestState): readonly string[] {
    return (state.keyed && state.session !== null) || state.answer?.entry.scope === 'PRIVATE' ? sessionHeaders : [];
  }

  function httpAnswer(requestStates: readonly RequestState[], ifNoneMatch: string | null | undefined) {
    const at = now();
    if (requestStates.length !== 1) {
      const answers = requestStates.map((state) => ({ status: state.status, answer: state.answer, vary: varyOf(state) }));
      return { status: 200 as const, headers: batchCacheHeaders(answers, at) };
    }
    const [state] = requestStates;
    const headers = cacheHeaders(state.status, state.answer, at, varyOf(state));
    // The validator names the entry: 304 only for what this same request would be served.
    const status = state.answer && etagMatches(ifNoneMatch, state.answer.entry.etag) ? 304 : 200;
    return { status, headers } as const;
  }

  function respond(state: KeyedState, result: ServedResult): FrontResponse {
    const body = serve(state, result);
    const { status, headers } = httpAnswer([state], state.input.request.headers.get('if-none-match'));
    if (status === 304) return { status, headers, body: null };
    headers['content-type'] = state.mediaType ?? JSON_TYPE;
    return { status, headers, body };
  }

  function release(state: RequestState) {
    if (state.keyed && state.lead) settleLead(state, null);
  }

  /** Ends a leader's turn: followers get `entry`, or execute themselves when it is null. */
  function settleLead(state: KeyedState, entry: CacheEntry | null) {
    const { lead } = state;
    if (!lead) return;
    state.lead = undefined;
    coalescer.settle(lead, entry);
  }

  async function completeQuery(state: KeyedState, tracker: Tracker, result: ExecutionResult): Promise<string | undefined> {
    await trackerSettled(tracker);
    const { policy } = tracker;
    // No resolver restricted the answer (only introspection or `__typename` at the root): the
    // root fields take the default, as in Apollo Server.
    const maxAge = policy.maxAge ?? defaultMaxAge;
    if (maxAge <= 0 || !shouldCacheResult(result)) {
      release(state);
      return undefined;
    }
    let { key } = state;
    if (policy.scope === 'PRIVATE' && state.session === null) {
      // Keyed as shared, answered PRIVATE: no follower may have it, nor the shared key.
      release(state);
      const privateKey = keying.rekeyPrivate(state);
      if (privateKey === undefined) return undefined;
      key = privateKey;
    }
    const body = JSON.stringify({ data: result.data });
    const scope: CacheScope = policy.scope;
    const entry: CacheEntry = {
      body,
      createdAt: now(),
      maxAgeMs: maxAge * 1000,
      swrMs: (policy.swr ?? 0) * 1000,
      scope,
      etag: `"${createHmac('sha256', etagSecret).update(key).update('\n').update(body).digest('base64url').slice(0, 27)}"`,
      tags: [...tracker.tags],
    };
    state.answer = { entry, fromCache: false };
    state.status = state.readable ? 'MISS' : 'BYPASS';
    if (state.readable) {
      counters.record('response', 'miss');
      onMiss({ grain: 'response', kind: 'miss', operation: state.operation.name, key, ttl: maxAge, scope });
    }
    let stored = false;
    if (state.storable && state.ticket && !guard.degraded) {
      try {
        stored = await store.set(key, entry, state.ticket);
      } catch (error) {
        logger.warn('response cache: storing an answer failed; it was served uncached', error);
      }
    }
    // Followers may share the answer only when the store accepted it: a refusal means an
    // eviction happened since this execution began, and a follower may have arrived after it.
    settleLead(state, stored ? entry : null);
    return includeExtensionMetadata ? withMetadata(body, { status: state.status, ttl: maxAge, scope }) : body;
  }

  /** A write's eviction, applied, or still pending after waiting `evictionWaitMs` for a retry. */
  async function evictBeforeAnswer(tags: readonly string[]): Promise<EvictionOutcome> {
    const outcome = await guard.evict(tags, 'mutation');
    // The write is done; its response may not promise fresh reads until the eviction is.
    if (!outcome.pending || (await guard.whenApplied(evictionWaitMs))) return outcome.pending ? { pending: false, evicted: 0 } : outcome;
    return outcome;
  }

  const engine: CacheEngine = {
    index,
    store,
    values,
    includeExtensionMetadata,
    session,
    sessionHeaders,
    now,
    begin: keying.begin,
    lookup,
    serve,
    respond,
    httpAnswer,
    attach: (carrier, state) => void states.set(carrier, state),
    stateOf: (carrier) => states.get(carrier),
    track(context, mutation, probePrefix) {
      const tracker = createTracker(mutation, probePrefix);
      trackers.set(context, tracker);
      return tracker;
    },
    probeMutation,
    completeQuery,
    async completeMutation(tracker) {
      await trackerSettled(tracker);
      if (!(await evictBeforeAnswer([...tracker.tags])).pending) return undefined;
      return new GraphQLError(
        `The write succeeded, but the cache could not evict the answers it changes within ${evictionWaitMs} ms; ` +
          'until a retry does, other instances may serve them as they were.',
        { extensions: { code: 'CACHE_EVICTION_PENDING' } },
      );
    },
    release,
    finish,
    setRevalidator(revalidate) {
      revalidator = revalidate;
    },
  };

  function stats(): CacheStats {
    const { grains: counted, ...totals } = counters.snapshot();
    const local = store.stats?.() ?? null;
    const grains: CacheStats['grains'] = {};
    for (const grain of GRAINS) {
      const counts = counted[grain];
      const entries = local === null ? null : (local.entriesByGrain?.[grain] ?? null);
      if (counts || entries) grains[grain] = { ...(counts ?? { hits: 0, stale: 0, misses: 0, coalesced: 0, bypassed: 0 }), entries };
    }
    return { ...totals, grains, degraded: guard.degraded, pendingEvictions: guard.pending(), local };
  }

  const cache: ResponseCache = {
    cached: functions.cached,
    cachedBatch: functions.cachedBatch,
    evictWrites: async (writes, context) => evictBeforeAnswer(await writeTags(writes, context)),
    evictEntity(typeName, id) {
      if (!index.tags.idField(typeName)) throw new Error(`evictEntity: "${typeName}" is not an object type with an id field`);
      return guard.evict([entityTag(typeName, id)], 'purge');
    },
    evictType: (typeName) => guard.evict(index.tags.typeTags(typeName), 'purge'),
    evictAll: () => guard.clear('purge'),
    get degraded() {
      return guard.degraded;
    },
    stats,
    async close() {
      guard.close();
      await store.close();
    },
  };
  engines.set(cache, engine);
  return cache;
}

function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function';
}

function mapMaybe<T, U>(value: MaybePromise<T>, fn: (value: T) => U): MaybePromise<U> {
  return isPromise(value) ? value.then(fn) : fn(value);
}

/**
 * The response cache engine: one per server, shared by the HTTP fronts (which answer hits
 * before the GraphQL pipeline) and the GraphQL plugin (which executes misses, stores answers
 * and evicts on mutations). It works for any schema; nothing here knows the demo catalog.
 */
import type { ExecutionResult, GraphQLSchema } from 'graphql';
import { buildHintIndex, type HintConfig } from './cache-hints.ts';
import { buildTagIndex, entityTag, type TagIndex } from './cache-tags.ts';
import { createDocumentPlanner, createRelationProber, type DocumentPlan, type OperationPlan } from './document-plan.ts';
import { defaultBuildCacheKey, hashKey, stableVariables, type BuildCacheKey, type RequestLike } from './cache-key.ts';
import { createTracker, instrumentSchema, trackerSettled, type Tracker } from './execution-tracker.ts';
import {
  cacheHeaders,
  etagMatches,
  negotiateMediaType,
  freshSeconds,
  withMetadata,
  type CacheOutcome,
  type CacheStatus,
  type CacheableAnswer,
} from './cache-http.ts';
import { createMemoryStore } from './memory-store.ts';
import type { CacheEntry, CacheScope, CacheStore, MaybePromise, ReadTicket, StoreStats } from './store.ts';

/** The GraphQL request as a front read it: method and headers, and the GraphQL params. */
export interface GraphQLRequestInput {
  request: RequestLike;
  params: { query?: unknown; operationName?: unknown; variables?: unknown };
}

export interface CacheLogger {
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

export type EvictEvent = { all: false; tags: readonly string[]; evicted: number } | { all: true };

export interface CacheEvent {
  key: string;
  outcome: CacheOutcome;
}

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
  /** @default a logger that says nothing */
  logger?: CacheLogger;
  /** How often a failed eviction is retried while the cache is bypassed, in ms. @default 1000 */
  evictionRetryMs?: number;
  /** Called for every answer served from the cache. @default no-op */
  onHit?: (event: CacheEvent) => void;
  /** Called for every answer looked up, not found and executed. @default no-op */
  onMiss?: (event: CacheEvent) => void;
  /** Called after an eviction: its tags and how many answers went, or `all` for `evictAll`. @default no-op */
  onEvict?: (event: EvictEvent) => void;
}

/** Errors are never cached. */
export const defaultShouldCacheResult = (result: ExecutionResult): boolean => !result.errors?.length;

/** A response a front can send as it is. */
export interface FrontResponse {
  status: number;
  headers: Record<string, string>;
  body: string | null;
}

/** What a request's GraphQL params determine, whatever its headers. */
interface Prepared {
  operationName: string;
  /** Absent when the text does not parse. */
  documentPlan: DocumentPlan | undefined;
  /** Absent when the text has no such operation. */
  operation: OperationPlan | undefined;
  /** Stable JSON; absent when the variables are not an object. */
  variables: string | undefined;
  /** The default key without a session, once computed. */
  sharedKey: string | undefined;
}

interface Lead {
  promise: Promise<CacheEntry | null>;
  settle(entry: CacheEntry | null): void;
}

/** Everything the cache knows about one request, from the front to the response headers. */
export interface RequestState {
  readonly input: GraphQLRequestInput;
  /** Absent when the request cannot be cached (mutation, unparsable, private without session…). */
  readonly key: string | undefined;
  readonly documentPlan: DocumentPlan | undefined;
  readonly operation: OperationPlan | undefined;
  readonly session: string | null;
  /** False when the request's Cache-Control says no-cache or no-store: execute, then refresh. */
  readonly readable: boolean;
  /** The media type a hit is sent as, or null when a front must leave the request to yoga. */
  readonly mediaType: string | null;
  ticket?: ReadTicket;
  lead?: Lead;
  status: CacheStatus;
  answer?: CacheableAnswer;
}

export type LookupResult =
  | { kind: 'hit'; entry: CacheEntry }
  | { kind: 'coalesced'; entry: CacheEntry }
  | { kind: 'miss' }
  | { kind: 'bypass' };

export interface ResponseCache {
  readonly schema: GraphQLSchema;
  readonly store: CacheStore;
  readonly includeExtensionMetadata: boolean;
  /** Works out the request's key and whether it may be read from the cache. Synchronous. */
  begin(input: GraphQLRequestInput): RequestState;
  /** One store lookup (none when another identical miss is already executing). */
  lookup(state: RequestState): MaybePromise<LookupResult>;
  /** The response for a hit or a coalesced answer, 304 when the request's validator matches. */
  respond(state: RequestState, result: { kind: 'hit' | 'coalesced'; entry: CacheEntry }): FrontResponse;
  /** Remembers a request's state under the object that carries it through the pipeline. */
  attach(carrier: object, state: RequestState): void;
  stateOf(carrier: object): RequestState | undefined;
  /** Starts watching an execution; returns the tracker its resolvers report to. */
  track(context: object, mutation: boolean): Tracker;
  /** The mutation document with relation probes for its written objects. */
  probeMutation: ReturnType<typeof createRelationProber>;
  /** Stores a finished query's answer if cacheable; returns the body to send when it serialised one. */
  completeQuery(state: RequestState | undefined, tracker: Tracker, result: ExecutionResult): Promise<string | undefined>;
  /** Evicts what a finished mutation wrote, before its response is sent. */
  completeMutation(tracker: Tracker): Promise<void>;
  /** Lets waiting followers go when a leader ends without an answer to share. */
  release(state: RequestState): void;
  /** Headers for the answer the pipeline produced. */
  headersFor(state: RequestState | undefined): Record<string, string>;
  /** Drops every answer that contains this object. */
  evictEntity(typeName: string, id: string | number): Promise<number>;
  /** Drops every answer that contains any object of this type, or a list or null of it. */
  evictType(typeName: string): Promise<number>;
  /** Drops everything this cache stored. */
  evictAll(): Promise<void>;
  readonly tagIndex: TagIndex;
  /**
   * How a stale entry inside its `swr` window is refreshed: the plugin replays the request
   * through yoga with `Cache-Control: no-cache`. Without one, stale entries are misses.
   */
  setRevalidator(revalidate: (input: GraphQLRequestInput) => Promise<void>): void;
  /** Whether failed evictions are pending (the cache is bypassed until they succeed). */
  readonly degraded: boolean;
  /** Counts since start-up, and the in-process store's size when there is one. */
  stats(): CacheStats;
  close(): Promise<void>;
}

export interface CacheStats {
  /** Answers served from the cache (stale ones inside their `swr` window included). */
  hits: number;
  /** Answers looked up, not found, executed and sent as `MISS`. */
  misses: number;
  /** Misses answered with another identical request's execution. */
  coalesced: number;
  /** Whether failed evictions are pending (the cache is bypassed until they succeed). */
  degraded: boolean;
  /** The in-process store or tier; null when answers live only outside the process (Redis). */
  local: StoreStats | null;
}

const silentLogger: CacheLogger = { warn() {}, error() {} };
const noop = () => {};

export function createResponseCache({
  schema,
  store = createMemoryStore(),
  session = () => null,
  sessionHeaders = ['Authorization'],
  defaultMaxAge = 0,
  hints: hintConfig = {},
  idFields = {},
  cacheIntrospection = false,
  includeExtensionMetadata = false,
  buildKey = defaultBuildCacheKey,
  shouldCacheResult = defaultShouldCacheResult,
  coalesce = true,
  now = Date.now,
  logger = silentLogger,
  evictionRetryMs = 1000,
  onHit = noop,
  onMiss = noop,
  onEvict = noop,
}: ResponseCacheOptions): ResponseCache {
  if (!Number.isInteger(defaultMaxAge) || defaultMaxAge < 0) {
    throw new Error(`expected defaultMaxAge to be a whole number of seconds >= 0, got ${JSON.stringify(defaultMaxAge)}`);
  }
  const hints = buildHintIndex(schema, hintConfig);
  const tagIndex = buildTagIndex(schema, { idFields });
  const planner = createDocumentPlanner(schema, hints);
  const probeMutation = createRelationProber(schema, tagIndex.relations);
  const trackers = new WeakMap<object, Tracker>();
  const states = new WeakMap<object, RequestState>();
  const inflight = new Map<string, Lead>();
  const revalidating = new Set<string>();
  let revalidator: ((input: GraphQLRequestInput) => Promise<void>) | undefined;
  instrumentSchema(schema, { hints, tagIndex, defaultMaxAge, trackerOf: (context) => trackers.get(context as object) });

  // Evictions that failed (the store was unreachable). Until they succeed nothing is read or
  // written: serving from a cache that may still hold what they should have removed could be
  // serving stale data.
  const pendingEvictions = new Set<string>();
  let retryTimer: NodeJS.Timeout | undefined;
  const counts = { hits: 0, misses: 0, coalesced: 0 };

  function bypass(input: GraphQLRequestInput, mediaType: string | null, documentPlan?: DocumentPlan, operation?: OperationPlan): RequestState {
    return { input, key: undefined, documentPlan, operation, session: null, readable: false, mediaType, status: 'BYPASS' };
  }

  // A front that parses each distinct body once hands the same shared params object (see
  // shareParams) to every request with that body: what follows from the params alone (plan,
  // operation, variables and, for the default key, the shared key) is worked out once per object.
  const preparedParams = new WeakMap<object, Prepared>();
  const keyDependsOnParamsAlone = buildKey === defaultBuildCacheKey;

  function prepare(params: GraphQLRequestInput['params']): Prepared | undefined {
    const memoised = sharedParams.has(params);
    if (memoised) {
      const known = preparedParams.get(params);
      if (known !== undefined) return known;
    }
    if (typeof params.query !== 'string') return undefined;
    const operationName = params.operationName ?? null;
    if (operationName !== null && typeof operationName !== 'string') return undefined;
    const documentPlan = planner.plan(params.query) ?? undefined;
    const operation = documentPlan && planner.operation(documentPlan, operationName);
    const prepared: Prepared = {
      operationName: operationName ?? '',
      documentPlan,
      operation,
      variables: documentPlan && operation ? readVariables(params.variables) : undefined,
      sharedKey: undefined,
    };
    if (memoised) preparedParams.set(params, prepared);
    return prepared;
  }

  function begin(input: GraphQLRequestInput): RequestState {
    const { request, params } = input;
    const mediaType = negotiateMediaType(request.headers.get('accept'));
    if (request.method !== 'GET' && request.method !== 'POST') return bypass(input, mediaType);
    const prepared = prepare(params);
    if (prepared === undefined) return bypass(input, mediaType);
    const { documentPlan, operation, variables } = prepared;
    if (!documentPlan || !operation) return bypass(input, mediaType, documentPlan);
    if (operation.kind !== 'query' || (operation.introspection && !cacheIntrospection)) return bypass(input, mediaType, documentPlan, operation);
    if (variables === undefined) return bypass(input, mediaType, documentPlan, operation);
    // Read at every request: a dynamic hint may turn an operation private at run time.
    const sessionId = operation.privateScope ? (session(request) ?? null) : null;
    if (operation.privateScope && sessionId === null) return bypass(input, mediaType, documentPlan, operation);
    let key = sessionId === null && keyDependsOnParamsAlone ? prepared.sharedKey : undefined;
    if (key === undefined) {
      key = buildKey({ documentHash: documentPlan.hash, operationName: prepared.operationName, variables, session: sessionId, request });
      if (sessionId === null && keyDependsOnParamsAlone) prepared.sharedKey = key;
    }
    const cacheControl = request.headers.get('cache-control');
    const readable = !cacheControl || !/\bno-(cache|store)\b/i.test(cacheControl);
    return { input, key, documentPlan, operation, session: sessionId, readable, mediaType, status: 'BYPASS' };
  }

  function lookup(state: RequestState): MaybePromise<LookupResult> {
    const { key } = state;
    if (key === undefined || pendingEvictions.size > 0) return { kind: 'bypass' };
    if (!state.readable) return withTicket(state, { kind: 'bypass' });
    const lead = coalesce ? inflight.get(key) : undefined;
    if (lead) {
      return lead.promise.then((entry): MaybePromise<LookupResult> => {
        if (entry) return { kind: 'coalesced', entry };
        return withTicket(state, { kind: 'miss' });
      });
    }
    const found = store.get(key);
    return isPromise(found) ? found.then((l) => afterGet(state, l.entry, l.ticket)) : afterGet(state, found.entry, found.ticket);
  }

  /** Requests that execute without a lookup still need a ticket to store what they produce. */
  function withTicket(state: RequestState, result: LookupResult): MaybePromise<LookupResult> {
    const keep = (ticket: ReadTicket) => {
      state.ticket = ticket;
      return result;
    };
    if (store.ticket) {
      const ticket = store.ticket(state.key!);
      return isPromise(ticket) ? ticket.then(keep) : keep(ticket);
    }
    const found = store.get(state.key!);
    return isPromise(found) ? found.then((l) => keep(l.ticket)) : keep(found.ticket);
  }

  function afterGet(state: RequestState, entry: CacheEntry | undefined, ticket: ReadTicket): LookupResult {
    if (entry) {
      const age = now() - entry.createdAt;
      if (age < entry.maxAgeMs) return { kind: 'hit', entry };
      if (revalidator && age < entry.maxAgeMs + entry.swrMs) {
        revalidate(state);
        return { kind: 'hit', entry };
      }
    }
    state.ticket = ticket;
    if (coalesce && !inflight.has(state.key!)) {
      let settle!: (entry: CacheEntry | null) => void;
      const promise = new Promise<CacheEntry | null>((resolve) => (settle = resolve));
      const lead: Lead = { promise, settle };
      inflight.set(state.key!, lead);
      state.lead = lead;
    }
    return { kind: 'miss' };
  }

  /** One refresh per key at a time; meanwhile everyone is served the stale entry. */
  function revalidate(state: RequestState) {
    const key = state.key!;
    if (revalidating.has(key)) return;
    revalidating.add(key);
    revalidator!(state.input)
      .catch((error) => logger.warn('response cache: refreshing a stale answer failed', error))
      .finally(() => revalidating.delete(key));
  }

  function respond(state: RequestState, result: { kind: 'hit' | 'coalesced'; entry: CacheEntry }): FrontResponse {
    const at = now();
    const { entry } = result;
    const hit = result.kind === 'hit';
    if (hit) counts.hits++;
    else counts.coalesced++;
    state.status = hit ? 'HIT' : 'MISS';
    state.answer = { entry, fromCache: hit, coalesced: !hit };
    const notify = hit ? onHit : onMiss;
    // Built only when someone reads it: a hit is the hot path.
    const outcome: CacheOutcome | undefined =
      notify !== noop || includeExtensionMetadata ? { status: state.status, ttl: freshSeconds(entry, at, hit), scope: entry.scope } : undefined;
    if (notify !== noop) notify({ key: state.key!, outcome: outcome! });
    const headers = cacheHeaders(state.status, state.answer, at, varyOf(state));
    if (hit && etagMatches(state.input.request.headers.get('if-none-match'), entry.etag)) {
      return { status: 304, headers, body: null };
    }
    headers['content-type'] = state.mediaType ?? 'application/json; charset=utf-8';
    return { status: 200, headers, body: outcome && includeExtensionMetadata ? withMetadata(entry.body, outcome) : entry.body };
  }

  /** Ends a leader's turn: followers get `entry`, or execute themselves when it is null. */
  function settleLead(state: RequestState, entry: CacheEntry | null) {
    const lead = state.lead;
    if (!lead) return;
    state.lead = undefined;
    if (inflight.get(state.key!) === lead) inflight.delete(state.key!);
    lead.settle(entry);
  }

  function release(state: RequestState) {
    settleLead(state, null);
  }

  async function completeQuery(state: RequestState | undefined, tracker: Tracker, result: ExecutionResult) {
    await trackerSettled(tracker);
    const { policy } = tracker;
    // No resolver restricted the answer (only introspection or `__typename` at the root): the
    // root fields take the default, as in Apollo Server.
    const maxAge = policy.maxAge ?? defaultMaxAge;
    const cacheable = state?.key !== undefined && maxAge > 0 && shouldCacheResult(result);
    if (!state || !cacheable) {
      if (state) release(state);
      return undefined;
    }
    let key = state.key!;
    if (policy.scope === 'PRIVATE' && state.session === null) {
      // A dynamic hint made an operation PRIVATE that its static hints said was PUBLIC: key it
      // by session from now on, and never store this answer under the shared key.
      state.operation!.privateScope = true;
      const sessionId = session(state.input.request) ?? null;
      if (sessionId === null) {
        release(state);
        return undefined;
      }
      key = buildKey({
        documentHash: state.documentPlan!.hash,
        operationName: (state.input.params.operationName as string | null) ?? '',
        variables: readVariables(state.input.params.variables)!,
        session: sessionId,
        request: state.input.request,
      });
      release(state);
    }
    const body = JSON.stringify({ data: result.data });
    const entry: CacheEntry = {
      body,
      createdAt: now(),
      maxAgeMs: maxAge * 1000,
      swrMs: (policy.swr ?? 0) * 1000,
      scope: policy.scope as CacheScope,
      etag: `"${hashKey(`${key}\n${body}`)}"`,
      tags: [...tracker.tags],
    };
    state.answer = { entry, fromCache: false };
    state.status = state.readable ? 'MISS' : 'BYPASS';
    if (state.readable) {
      counts.misses++;
      onMiss({ key, outcome: { status: 'MISS', ttl: maxAge, scope: entry.scope } });
    }
    let stored = false;
    if (state.ticket && pendingEvictions.size === 0) {
      try {
        stored = await store.set(key, entry, state.ticket);
      } catch (error) {
        logger.warn('response cache: storing an answer failed; it was served uncached', error);
      }
    }
    // Followers may share the answer only when the store accepted it: a refusal means an
    // eviction happened since this execution began, and a follower may have arrived after it.
    settleLead(state, stored ? entry : null);
    return includeExtensionMetadata
      ? withMetadata(body, { status: state.status, ttl: maxAge, scope: entry.scope })
      : body;
  }

  async function evictTags(tags: readonly string[]): Promise<number> {
    if (tags.length === 0) return 0;
    try {
      const evicted = await store.evict(tags);
      onEvict({ all: false, tags, evicted });
      return evicted;
    } catch (error) {
      for (const tag of tags) pendingEvictions.add(tag);
      logger.error('response cache: eviction failed; the cache is bypassed until it succeeds', error);
      scheduleRetry();
      return 0;
    }
  }

  function scheduleRetry() {
    if (retryTimer) return;
    retryTimer = setTimeout(async () => {
      retryTimer = undefined;
      const tags = [...pendingEvictions];
      try {
        const evicted = await store.evict(tags);
        for (const tag of tags) pendingEvictions.delete(tag);
        onEvict({ all: false, tags, evicted });
        logger.warn(`response cache: ${tags.length} pending eviction tags applied; caching resumes`);
      } catch {
        scheduleRetry();
      }
    }, evictionRetryMs);
    retryTimer.unref();
  }

  function headersFor(state: RequestState | undefined): Record<string, string> {
    return cacheHeaders(state?.status ?? 'BYPASS', state?.answer, now(), state ? varyOf(state) : []);
  }

  function varyOf(state: RequestState): readonly string[] {
    return state.session !== null || state.answer?.entry.scope === 'PRIVATE' ? sessionHeaders : [];
  }

  return {
    schema,
    store,
    tagIndex,
    includeExtensionMetadata,
    begin,
    lookup,
    respond,
    attach: (carrier, state) => void states.set(carrier, state),
    stateOf: (carrier) => states.get(carrier),
    track(context, mutation) {
      const tracker = createTracker(mutation);
      trackers.set(context, tracker);
      return tracker;
    },
    probeMutation,
    completeQuery,
    async completeMutation(tracker) {
      await trackerSettled(tracker);
      await evictTags([...tracker.tags]);
    },
    release,
    headersFor,
    evictEntity: (typeName, id) => {
      if (!tagIndex.idField(typeName)) throw new Error(`evictEntity: "${typeName}" is not an object type with an id field`);
      return evictTags([entityTag(typeName, id)]);
    },
    evictType: (typeName) => evictTags(tagIndex.typeTags(typeName)),
    evictAll: async () => {
      await store.clear();
      onEvict({ all: true });
    },
    setRevalidator(revalidate) {
      revalidator = revalidate;
    },
    get degraded() {
      return pendingEvictions.size > 0;
    },
    stats: () => ({ ...counts, degraded: pendingEvictions.size > 0, local: store.stats?.() ?? null }),
    async close() {
      if (retryTimer) clearTimeout(retryTimer);
      await store.close();
    },
  };
}

/** Params objects shared by the requests whose bodies are identical: frozen all the way down. */
const sharedParams = new WeakSet<object>();

/**
 * Marks parsed GraphQL params as shared by every request with the same body, so the cache works
 * out their plan, variables and key once. Freezes them all the way down first: what is worked
 * out from them must not change under it. Returns the same object.
 */
export function shareParams<T extends object>(params: T): Readonly<T> {
  deepFreeze(params);
  sharedParams.add(params);
  return params;
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}

/** Variables as stable JSON, or undefined when they are not an object (the pipeline rejects them). */
function readVariables(raw: unknown): string | undefined {
  let variables = raw;
  if (typeof variables === 'string') {
    if (variables === '') return '{}';
    try {
      variables = JSON.parse(variables);
    } catch {
      return undefined;
    }
  }
  if (variables === undefined || variables === null) return '{}';
  if (typeof variables !== 'object' || Array.isArray(variables)) return undefined;
  return stableVariables(variables as Record<string, unknown>);
}

function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function';
}

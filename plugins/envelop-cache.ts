/**
 * Our stores under `@envelop/response-cache`: an implementation of envelop's `Cache` for servers
 * that run envelop's (or graphql-yoga's) response-cache plugin, so that they can move to the
 * memory, Redis or tiered store first and to our plugin later.
 *
 * What it gives them that envelop's own stores do not:
 * - No stale write-back. A read that began before an invalidation never stores its answer after
 *   it: each request's `set` presents the ticket of that request's own lookup to the store.
 * - The Redis store: no `KEYS`, `SCAN` or `FLUSH*`, index sets that expire with their entries,
 *   one slot per namespace on a Cluster, and a Redis fault is a miss, not a failed request.
 *
 * How envelop 9.x calls a `Cache`, and what follows:
 * - `cache` may be a function of the request's context; envelop then calls it once per context
 *   and makes that request's `get`, `set` and `invalidate` on what it returns. The adapter is
 *   such a function, and also a `Cache` itself for callers without a context (graphql-yoga's
 *   wrapper looks keys up directly; operators invalidate directly).
 * - A miss is `get(id)` then, once executed, `set(id, result, entities, ttl)` in the same request;
 *   graphql-yoga's wrapper looks the key up once more before that, without a context.
 * - `ttl` is in ms and is `Infinity` unless configured; envelop never calls `set` with 0.
 * - Entities: `{typename, id}` for every object with an id in the result, and `{typename}` alone
 *   for a field of that type that came back null or empty. `invalidate` gets the same records
 *   from a mutation's result, where `{typename}` alone means every entity of that type.
 * - envelop neither awaits nor catches what `set` and `invalidate` return: the mutation's
 *   response can be sent before its invalidation is done, and a rejection would be unhandled
 *   (which ends a Node process by default). So neither ever rejects, and
 *   `useEnvelopInvalidationBarrier` holds a mutation's response until its invalidation is done.
 *
 * Tags are the engine's own: `Type:id` (`entityTag`) and `type:Type` (`typeTag`), so an
 * adapter and an engine on one store evict each other's answers. Keys are `envelop:<id>`, apart
 * from the engine's.
 */
import { randomUUID } from 'node:crypto';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from '@envelop/core';
import type { Cache, CacheEntityRecord } from '@envelop/response-cache';
import { entityTag, typeTag } from './cache-tags.ts';
import { createEvictionGuard } from './eviction-guard.ts';
import type { CacheEntry, CacheStore, Lookup, MaybePromise, ReadTicket } from './store.ts';

/** Which of envelop's calls a failure reported to `onError` came from. */
export type EnvelopCacheOperation = 'get' | 'set' | 'invalidate';

export interface EnvelopCacheOptions {
  /**
   * Where answers live: `createMemoryStore()`, `createRedisStore(…)` or `createTieredStore(…)`.
   * `close()` closes it.
   */
  store: CacheStore;
  /**
   * The longest an answer is kept, in ms. envelop's `ttl` defaults to `Infinity` ("until
   * invalidated"); our stores keep nothing for ever, so that Redis reclaims entries and their
   * index sets by itself: a longer or infinite `ttl` becomes this.
   * @default DEFAULT_ENVELOP_MAX_TTL_MS (86 400 000: one day)
   */
  maxTtlMs?: number;
  /**
   * The longest wait between retries of a failed invalidation, in ms (the first comes after
   * 100 ms at most, then the wait doubles). Until one succeeds the cache is bypassed (every `get`
   * a miss, nothing stored): the store may still hold what it should have removed.
   * @default 1000
   */
  evictionRetryMs?: number;
  /**
   * The clock an answer's `createdAt` is read from, in ms since the Unix epoch. Give the store's
   * own clock when it was given one: the store measures the answer's age with it.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Receives each failure the adapter absorbed instead of passing it to envelop: a lookup that
   * failed or found an unreadable entry (answered as a miss), a `set` that failed or was called
   * without a lookup to pair with, each failed invalidation attempt. Attach the server's logger.
   * @default a no-op
   */
  onError?: (error: unknown, operation: EnvelopCacheOperation) => void;
}

/**
 * envelop's `Cache`, over one of our stores. Pass it as `useResponseCache({ cache })`: envelop
 * calls it with each request's context and uses the `Cache` it returns for that request.
 */
export interface EnvelopCache extends Cache {
  /** The `Cache` of one request: its `set` stores only with the ticket of its own lookup. */
  (context: object): Cache;
  /**
   * Looks an answer up. Without a request context, no later `set` can be paired with it.
   * A failure is a miss.
   */
  get(id: string): MaybePromise<ExecutionResult | null>;
  /**
   * Stores nothing, and reports to `onError`: an answer may be stored only against the lookup
   * that began the read that produced it, and only a request's own `Cache` knows that lookup.
   * Taking a ticket now instead would let a read that began before an invalidation store the
   * answer the invalidation removed.
   */
  set(id: string, data: ExecutionResult, entities: Iterable<CacheEntityRecord>, ttl: number): void;
  /**
   * Evicts every answer that contains one of these entities; `{ typename }` without an id
   * evicts every answer that contains any entity of that type. Never rejects; a failure is
   * retried (see `evictionRetryMs`) and the cache is bypassed until it succeeds.
   */
  invalidate(entities: Iterable<CacheEntityRecord>): Promise<void>;
  /** Whether failed invalidations wait for a retry (the cache is bypassed meanwhile). */
  readonly degraded: boolean;
  /** Stops retrying failed invalidations and closes the store. */
  close(): Promise<void>;
}

/** One day: how long an answer with envelop's default `ttl` (Infinity) is kept. */
export const DEFAULT_ENVELOP_MAX_TTL_MS = 86_400_000;

const KEY_PREFIX = 'envelop:';

/** What a request is waiting for before its response may be sent: its invalidations. */
const barriers = new WeakMap<EnvelopCache, (context: object) => Promise<unknown> | undefined>();

const noop = (): void => {};

/**
 * envelop's `Cache` on one of our stores, for `@envelop/response-cache`'s or graphql-yoga's
 * `useResponseCache`. List `useEnvelopInvalidationBarrier(cache)` right after that plugin.
 *
 * @example
 * const cache = createEnvelopCache({ store: createRedisStore({ redis: process.env.REDIS_URL }) });
 * const yoga = createYoga({
 *   schema,
 *   plugins: [useResponseCache({ cache, session: () => null }), useEnvelopInvalidationBarrier(cache)],
 * });
 */
export function createEnvelopCache(options: EnvelopCacheOptions): EnvelopCache {
  const { store, maxTtlMs = DEFAULT_ENVELOP_MAX_TTL_MS, evictionRetryMs = 1000, now = Date.now, onError = noop } = options;
  if (typeof store?.get !== 'function' || typeof store.set !== 'function' || typeof store.evict !== 'function') {
    throw new TypeError(
      `createEnvelopCache: expected store to be a cache store (createMemoryStore, createRedisStore or createTieredStore), got ${describeValue(store)}`,
    );
  }
  if (!(Number.isSafeInteger(maxTtlMs) && maxTtlMs > 0)) {
    throw new TypeError(`createEnvelopCache: expected maxTtlMs to be a positive whole number of ms, got ${String(maxTtlMs)}`);
  }
  if (!(Number.isFinite(evictionRetryMs) && evictionRetryMs > 0)) {
    throw new TypeError(`createEnvelopCache: expected evictionRetryMs to be a positive number of ms, got ${String(evictionRetryMs)}`);
  }

  const guard = createEvictionGuard({ store, retryMs: evictionRetryMs, onError: (error) => onError(error, 'invalidate') });
  /** The tags of each invalidation started and not yet settled (applied, or failed and queued). */
  const invalidating = new Set<ReadonlySet<string>>();

  /**
   * `tickets`, when given, keeps the ticket of a miss for the request's `set`: the first one per
   * id, the oldest, which refuses whatever a later one would.
   */
  function lookup(id: string, tickets?: Map<string, ReadTicket>): MaybePromise<ExecutionResult | null> {
    // Failed invalidations pending: the store may hold what they should have removed.
    if (guard.degraded) return null;
    // Invalidations already started may not have reached the store yet, and envelop may have
    // sent their mutations' responses: an entry under one of their tags may be what they remove.
    // The ticket is still good: a `set` with it is refused if such an invalidation lands after it.
    const started = invalidating.size === 0 ? undefined : [...invalidating];
    const read = ({ entry, ticket }: Lookup): ExecutionResult | null => {
      if (entry !== undefined && !started?.some((tags) => entry.tags.some((tag) => tags.has(tag)))) {
        try {
          return JSON.parse(entry.body) as ExecutionResult;
        } catch (error) {
          onError(error, 'get');
        }
      }
      if (tickets !== undefined && !tickets.has(id)) tickets.set(id, ticket);
      return null;
    };
    const failed = (error: unknown): null => {
      onError(error, 'get');
      return null;
    };
    try {
      const found = store.get(KEY_PREFIX + id);
      return isPromise(found) ? found.then(read, failed) : read(found);
    } catch (error) {
      return failed(error);
    }
  }

  function put(id: string, data: ExecutionResult, entities: Iterable<CacheEntityRecord>, ttl: number, ticket: ReadTicket): MaybePromise<void> {
    if (guard.degraded) return;
    const maxAgeMs = Math.min(ttl, maxTtlMs);
    if (!(maxAgeMs > 0)) return;
    let entry: CacheEntry;
    try {
      entry = {
        body: JSON.stringify(data),
        createdAt: now(),
        maxAgeMs,
        swrMs: 0,
        // envelop keys an answer by session itself; nothing here says it may be shared.
        scope: 'PRIVATE',
        // envelop never reads it; a random value says nothing about the answer or its key.
        etag: `"${randomUUID()}"`,
        tags: tagsOf(entities, true),
      };
    } catch (error) {
      // A result JSON cannot hold (a BigInt, a cycle): served, never stored.
      onError(error, 'set');
      return;
    }
    const failed = (error: unknown): void => onError(error, 'set');
    try {
      const stored = store.set(KEY_PREFIX + id, entry, ticket);
      if (isPromise(stored)) return stored.then(noop, failed);
    } catch (error) {
      failed(error);
    }
  }

  function invalidate(entities: Iterable<CacheEntityRecord>): Promise<void> {
    const tags = tagsOf(entities, false);
    const inFlight: ReadonlySet<string> = new Set(tags);
    invalidating.add(inFlight);
    return guard.evict(tags, 'mutation').then(() => void invalidating.delete(inFlight));
  }

  /** One request's view, made when envelop first asks for it with that request's context. */
  interface RequestCache {
    cache: Cache;
    invalidating?: Promise<unknown>;
  }
  const requests = new WeakMap<object, RequestCache>();

  function requestCache(context: object): Cache {
    let request = requests.get(context);
    if (request !== undefined) return request.cache;
    const tickets = new Map<string, ReadTicket>();
    const own: RequestCache = {
      cache: {
        get: (id) => lookup(id, tickets),
        set(id, data, entities, ttl) {
          const ticket = tickets.get(id);
          // No ticket: the lookup failed, the cache was bypassed or this request did not look
          // the id up. Only a ticket from before the read can prove no invalidation came since.
          if (ticket !== undefined) return put(id, data, entities, ttl, ticket);
        },
        invalidate(entities) {
          const done = invalidate(entities);
          own.invalidating = own.invalidating ? Promise.all([own.invalidating, done]) : done;
          return done;
        },
      },
    };
    request = own;
    requests.set(context, request);
    return request.cache;
  }

  // A function, so that envelop makes one `Cache` per request; and a `Cache`, for callers without one.
  const cache = Object.defineProperties((context: object) => requestCache(context), {
    get: { value: (id: string) => lookup(id) },
    set: {
      value(id: string) {
        onError(
          new Error(
            `envelop cache: set("${id}") outside a request stores nothing; pass the cache itself as useResponseCache's cache so that envelop uses one per request`,
          ),
          'set',
        );
      },
    },
    invalidate: { value: invalidate },
    degraded: { get: () => guard.degraded },
    close: {
      async value() {
        guard.close();
        await store.close();
      },
    },
  }) as unknown as EnvelopCache;
  barriers.set(cache, (context) => requests.get(context)?.invalidating);
  return cache;
}

/**
 * An envelop plugin to list right after `useResponseCache`: it holds each mutation's response
 * until the invalidation envelop started for it has reached the store (or failed and been queued
 * for retry, with the cache bypassed). envelop does not wait for `invalidate`, so without this
 * another instance sharing the store can still serve an answer the mutation should have evicted
 * for a moment after the response. (A mutation answered with incremental delivery, `@defer` or
 * `@stream`, is not held: envelop invalidates after its last part.)
 */
export function useEnvelopInvalidationBarrier(cache: EnvelopCache): Plugin {
  const invalidationOf = barriers.get(cache);
  if (invalidationOf === undefined) {
    throw new TypeError('useEnvelopInvalidationBarrier: expected the cache createEnvelopCache returned');
  }
  return {
    onExecute() {
      return {
        // envelop calls `invalidate` in its own onExecuteDone, which runs before this one.
        onExecuteDone: ({ args }) => {
          const context = args.contextValue as unknown;
          if (typeof context === 'object' && context !== null) return invalidationOf(context)?.then(noop);
        },
      };
    },
  };
}

/**
 * Our tags for envelop's entity records. What a record stands for differs by direction, as in
 * envelop's own store: an answer is indexed under its entities' types and ids; an invalidation
 * names either one entity or, without an id, a whole type.
 */
function tagsOf(entities: Iterable<CacheEntityRecord>, indexing: boolean): string[] {
  const tags = new Set<string>();
  for (const { typename, id } of entities) {
    if (id == null || indexing) tags.add(typeTag(typename));
    if (id != null) tags.add(entityTag(typename, id));
  }
  return [...tags];
}

function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function';
}

function describeValue(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  return `an object with ${Object.keys(value).join(', ') || 'no keys'}`;
}

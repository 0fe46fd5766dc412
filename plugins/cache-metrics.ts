/**
 * Prometheus metrics of a response cache, on `prom-client`. They attach where the cache already
 * reports: its events (`onHit`, `onMiss`, `onBypass`, `onEvict`, every grain alike), its store
 * (timed by a wrapper) and the store's `onError`; gauges read `stats()` at each scrape.
 *
 * A hit must not pay for being counted: events add to plain numbers, and the prom-client
 * counters are brought up to date when Prometheus scrapes (their `collect`).
 *
 *   graphql_cache_hits_total{grain,operation}          served from the cache, stale ones included
 *   graphql_cache_stale_served_total{grain,operation}  of those, stale while one refresh ran
 *   graphql_cache_misses_total{grain,operation}        looked up, not found, executed
 *   graphql_cache_coalesced_total{grain,operation}     given another identical request's execution
 *   graphql_cache_bypass_total{grain,operation}        neither read nor written
 *   graphql_cache_evictions_total{reason}              evictions the store applied (mutation, purge)
 *   graphql_cache_evicted_entries_total{reason}        entries they removed (a clear's are not known)
 *   graphql_cache_store_errors_total{op}               failures the store reported
 *   graphql_cache_store_duration_seconds{op}           each store operation's duration
 *   graphql_cache_local_bytes, _local_entries, _local_max_bytes   the in-process store or tier
 *   graphql_cache_degraded                             1 while failed evictions are pending
 *   graphql_cache_redis_up                             1 while the Redis client is ready
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { Registry } from 'prom-client';
import type { CacheEvent, CacheGrain, CacheOutcomeKind } from './cache-counters.ts';
import type { EvictEvent, EvictionReason } from './eviction-guard.ts';
import { engineOf, type ResponseCache, type ResponseCacheOptions } from './response-cache.ts';
import type { CacheStore } from './store.ts';
import { timeStore } from './timed-store.ts';

/** Options of `createCacheMetrics`. */
export interface CacheMetricsOptions {
  /** The prom-client registry the metrics are registered in. @default prom-client's default registry (`register`) */
  registry?: Registry;
  /**
   * Distinct operation names labelled per grain: the first ones seen keep their name, later
   * ones and anonymous operations count as `other`, so clients cannot grow the series without
   * bound. @default 100
   */
  maxOperations?: number;
  /**
   * Upper bounds of `graphql_cache_store_duration_seconds`'s buckets, in seconds.
   * @default [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
   */
  storeDurationBuckets?: number[];
}

/** The label of operations past `maxOperations`, and of anonymous ones. */
export const OTHER_OPERATION = 'other';

/** The cache's metrics, to attach where the cache is built (see `createCacheMetrics`). */
export interface CacheMetrics {
  /** `createResponseCache`'s event options: spread them in (`...metrics.events`). */
  readonly events: Required<Pick<ResponseCacheOptions, 'onHit' | 'onMiss' | 'onBypass' | 'onEvict'>>;
  /** Counts a failure the store reported: give it to `createCacheStore`'s (or a Redis store's) `onError`. */
  readonly onStoreError: (error: unknown, where: string) => void;
  /** The store with every operation timed into `graphql_cache_store_duration_seconds`. */
  timeStore<T extends CacheStore>(store: T): T;
  /**
   * Adds the gauges of this cache, read at every scrape: `degraded`, the in-process store's size
   * when it has one, the Redis connection when it uses Redis. One cache: the one the events go to.
   */
  observe(cache: ResponseCache): void;
}

type Field = 'hits' | 'stale' | 'misses' | 'coalesced' | 'bypass';
type Counts = Record<Field, number>;
const FIELD: Record<CacheOutcomeKind, Field> = { hit: 'hits', stale: 'stale', miss: 'misses', coalesced: 'coalesced', bypass: 'bypass' };

/**
 * Prometheus metrics for one response cache:
 *
 * ```ts
 * const metrics = createCacheMetrics({ registry });
 * const cache = createResponseCache({
 *   schema,
 *   store: metrics.timeStore(createCacheStore({ redis: process.env.REDIS_URL, onError: metrics.onStoreError })),
 *   ...metrics.events,
 * });
 * metrics.observe(cache);
 * ```
 *
 * Throws when the registry already has metrics of these names (one set per registry).
 */
export function createCacheMetrics({
  registry,
  maxOperations = 100,
  storeDurationBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
}: CacheMetricsOptions = {}): CacheMetrics {
  if (!Number.isInteger(maxOperations) || maxOperations < 0) {
    throw new TypeError(`createCacheMetrics: expected maxOperations to be a whole number >= 0, got ${JSON.stringify(maxOperations)}`);
  }
  const { Counter, Gauge, Histogram, register } = loadPromClient();
  const registers = [registry ?? register];
  /** grain → operation label (a name, or `other`) → counts. Names past the bound are never kept. */
  const outcomes = new Map<CacheGrain, Map<string, Counts>>();
  const evictions = new Map<EvictionReason, { evictions: number; entries: number }>();
  const storeErrors = new Map<string, number>();
  let observed: ResponseCache | undefined;

  function countsOf(grain: CacheGrain, operation: string): Counts {
    let byOperation = outcomes.get(grain);
    if (byOperation === undefined) outcomes.set(grain, (byOperation = new Map()));
    const counts = byOperation.get(operation);
    if (counts !== undefined) return counts;
    const named = byOperation.size - (byOperation.has(OTHER_OPERATION) ? 1 : 0);
    const label = operation !== '' && named < maxOperations ? operation : OTHER_OPERATION;
    let labelCounts = byOperation.get(label);
    if (labelCounts === undefined) byOperation.set(label, (labelCounts = { hits: 0, stale: 0, misses: 0, coalesced: 0, bypass: 0 }));
    return labelCounts;
  }

  function record({ grain, kind, operation }: CacheEvent) {
    const counts = countsOf(grain, operation);
    counts[FIELD[kind]]++;
    // A stale answer is a hit too.
    if (kind === 'stale') counts.hits++;
  }

  /** A counter by grain and operation, brought up to date from `outcomes` at each scrape. */
  function outcomeCounter(name: string, help: string, field: Field) {
    return new Counter({
      name,
      help,
      labelNames: ['grain', 'operation'],
      registers,
      collect() {
        this.reset();
        for (const [grain, byOperation] of outcomes) {
          for (const [operation, counts] of byOperation) if (counts[field] > 0) this.inc({ grain, operation }, counts[field]);
        }
      },
    });
  }
  outcomeCounter('graphql_cache_hits_total', 'Values served from the cache, stale ones included.', 'hits');
  outcomeCounter('graphql_cache_stale_served_total', 'Stale values served while one refresh ran (counted in hits too).', 'stale');
  outcomeCounter('graphql_cache_misses_total', 'Values looked up, not found, and executed.', 'misses');
  outcomeCounter('graphql_cache_coalesced_total', "Values given another identical request's execution.", 'coalesced');
  outcomeCounter('graphql_cache_bypass_total', 'Requests the cache neither read nor wrote for (not cacheable, or degraded).', 'bypass');

  new Counter({
    name: 'graphql_cache_evictions_total',
    help: 'Evictions the store applied, by reason (mutation, purge).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, { evictions: count }] of evictions) this.inc({ reason }, count);
    },
  });
  new Counter({
    name: 'graphql_cache_evicted_entries_total',
    help: 'Entries those evictions removed, by reason (a clear of everything is not counted: its size is unknown).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, { entries }] of evictions) if (entries > 0) this.inc({ reason }, entries);
    },
  });
  new Counter({
    name: 'graphql_cache_store_errors_total',
    help: 'Failures the store reported, by operation (get, set, evict, clear, connection, …); each was answered without the cache.',
    labelNames: ['op'],
    registers,
    collect() {
      this.reset();
      for (const [op, count] of storeErrors) this.inc({ op }, count);
    },
  });
  const storeDuration = new Histogram({
    name: 'graphql_cache_store_duration_seconds',
    help: 'Duration of each store operation (get, set, evict, clear, …), failed ones included.',
    labelNames: ['op'],
    buckets: storeDurationBuckets,
    registers,
  });
  const timers = new Map<string, (seconds: number) => void>();
  const observeDuration = (op: string, seconds: number) => {
    let timer = timers.get(op);
    if (timer === undefined) timers.set(op, (timer = storeDuration.labels({ op }).observe));
    timer(seconds);
  };

  /** A gauge read from `read` at each scrape. */
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });

  /** The gauges of what this cache has: an in-process store or tier, a Redis client. */
  function observeGauges(cache: ResponseCache) {
    gauge('graphql_cache_degraded', '1 while failed evictions are pending and the cache is bypassed, else 0.', () => (cache.degraded ? 1 : 0));
    if (cache.stats().local !== null) {
      const local = () => cache.stats().local!;
      gauge('graphql_cache_local_bytes', 'Estimated bytes held by the in-process store or tier.', () => local().bytes);
      gauge('graphql_cache_local_entries', 'Entries held by the in-process store or tier.', () => local().entries);
      gauge('graphql_cache_local_max_bytes', 'The byte bound of the in-process store or tier.', () => local().maxBytes);
    }
    const client = redisClientOf(engineOf(cache).store);
    if (client) gauge('graphql_cache_redis_up', "1 while the cache's Redis client is connected and ready, else 0.", () => (client.status === 'ready' ? 1 : 0));
  }

  return {
    events: {
      onHit: record,
      onMiss: record,
      onBypass: record,
      onEvict(event: EvictEvent) {
        const counts = evictions.get(event.reason) ?? { evictions: 0, entries: 0 };
        counts.evictions++;
        if (!event.all) counts.entries += event.evicted;
        evictions.set(event.reason, counts);
      },
    },
    onStoreError(_error, where) {
      storeErrors.set(where, (storeErrors.get(where) ?? 0) + 1);
    },
    timeStore: (store) => timeStore(store, observeDuration),
    observe(cache) {
      if (observed === cache) return;
      if (observed !== undefined) throw new Error('createCacheMetrics: observe() takes one cache; make one set of metrics per cache');
      observeGauges(cache);
      observed = cache;
    },
  };
}

/** The Redis client behind a store: a Redis store's own, or the remote one of a tiered store. */
function redisClientOf(store: CacheStore): { status: string } | undefined {
  const candidate = store as { redis?: { status?: unknown }; remote?: { redis?: { status?: unknown } } };
  const client = candidate.redis ?? candidate.remote?.redis;
  return typeof client?.status === 'string' ? (client as { status: string }) : undefined;
}

/**
 * prom-client, loaded when metrics are asked for: it is an optional peer dependency, so a server
 * without metrics need not install it.
 */
function loadPromClient(): typeof PromClient {
  try {
    return createRequire(import.meta.url)('prom-client') as typeof PromClient;
  } catch (error) {
    throw new Error('createCacheMetrics needs prom-client: npm install prom-client', { cause: error });
  }
}

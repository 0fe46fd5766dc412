/**
 * graphql-cache-layer: the public entry, and the only module a user imports. Everything
 * exported here is the supported API; every other module of the package is internal and may
 * change.
 *
 * ```ts
 * const cache = createResponseCache({ schema, store: createCacheStore({ redis: process.env.REDIS_URL }), session });
 * const yoga = createYoga({ schema, plugins: [useResponseCache(cache)] });
 * createServer(createFastPath({ cache, next: yoga })).listen(4000);
 * ```
 */

// The engine, and the two places it plugs in: the GraphQL pipeline and, before it, node:http.
export { createResponseCache, defaultShouldCacheResult } from './response-cache.ts';
export type { ResponseCache, ResponseCacheOptions, CacheStats, GrainStats, CacheLogger } from './response-cache.ts';
export type { CacheEvent, CacheGrain, CacheOutcomeKind, GrainCounts, CountsByGrain } from './cache-counters.ts';
export type { EvictEvent, EvictionOutcome, EvictionReason, PendingEvictions } from './eviction-guard.ts';
export { useResponseCache } from './use-response-cache.ts';
export type { UseResponseCacheOptions } from './use-response-cache.ts';
export { createFastPath } from './http-front.ts';
export type { FastPathOptions } from './http-front.ts';
export type { PersistedQueryStore } from './graphql-params.ts';

// Resolver-level caching on the same store and eviction: functions and DataLoader batch
// functions (`cache.cached`, `cache.cachedBatch`), fields (`@cacheResolver`, `cachedFields`).
export type { CachedFunctionOptions, CachedBatchOptions, BatchFunction } from './cached-functions.ts';
export type { CachedFieldConfig, CachedFieldSetting } from './cached-fields.ts';
export { cacheTags } from './cache-tags.ts';

// tRPC query procedures on the same store, evicted by the same writes (`cache.evictWrites` for
// writes made outside GraphQL).
export { trpcCacheMiddleware, withTrpcCacheContext } from './trpc-cache.ts';
export type { TrpcCacheMiddlewareOptions, TrpcCacheContextOptions, TrpcContextOptions, TrpcOutputList } from './trpc-cache.ts';
export { trpcCacheResponseMeta } from './trpc-response-meta.ts';
export type { Write } from './write-tags.ts';

// What the schema and its resolvers say to the cache.
export { cacheDirectivesTypeDefs, cacheDirectivesDocument } from './cache-directives.ts';
export type { CacheHint, HintConfig } from './cache-hints.ts';
export { withPreviousVersion } from './execution-tracker.ts';
export type { ResolverCacheControl } from './execution-tracker.ts';

// Keys.
export { defaultBuildCacheKey } from './cache-key.ts';
export type { BuildCacheKey, CacheKeyInput, RequestLike } from './cache-key.ts';
export type { CacheOutcome, CacheStatus } from './cache-http.ts';

// Stores: the one a deployment asks for, each kind on its own, and the contract of a store.
export { createCacheStore } from './cache-store.ts';
export type { CacheStoreOptions, CacheStoreFailure, RedisClusterNode } from './cache-store.ts';
export { createMemoryStore, DEFAULT_MEMORY_MAX_BYTES } from './memory-store.ts';
export type { MemoryStore, MemoryStoreOptions } from './memory-store.ts';
export { createRedisStore, DEFAULT_REDIS_COMMAND_TIMEOUT_MS } from './redis-store.ts';
export type { RedisStore, RedisStoreOptions, RedisStoreOperation } from './redis-store.ts';
export { createTieredStore } from './tiered-store.ts';
export type { TieredStore, TieredStoreOptions, RemoteEviction } from './tiered-store.ts';
export type { CacheStore, CacheEntry, CacheScope, Lookup, ManyLookup, ReadTicket, StoreStats, MaybePromise } from './store.ts';

// For servers that already run @envelop/response-cache: our stores behind its `Cache`.
export { createEnvelopCache, useEnvelopInvalidationBarrier, DEFAULT_ENVELOP_MAX_TTL_MS } from './envelop-cache.ts';
export type { EnvelopCache, EnvelopCacheOptions, EnvelopCacheOperation } from './envelop-cache.ts';

// Observability: Prometheus metrics (prom-client), and the short key hash that OpenTelemetry
// spans carry (spans are made while a tracer provider is registered, with nothing to set up).
export { createCacheMetrics, OTHER_OPERATION } from './cache-metrics.ts';
export type { CacheMetrics, CacheMetricsOptions } from './cache-metrics.ts';
export { shortKeyHash } from './cache-tracing.ts';

// Operators' endpoints.
export { usePurgeEndpoint } from './use-purge-endpoint.ts';
export type { PurgeEndpointOptions } from './use-purge-endpoint.ts';
export { useStatsEndpoint } from './use-stats-endpoint.ts';
export type { StatsEndpointOptions } from './use-stats-endpoint.ts';
export { useMetricsEndpoint } from './use-metrics-endpoint.ts';
export type { MetricsEndpointOptions } from './use-metrics-endpoint.ts';

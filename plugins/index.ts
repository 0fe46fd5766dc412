/**
 * graphql-cache-layer: the public entry. Everything exported here is the supported API; every
 * other module of the package is internal and may change.
 */
import { readFileSync } from 'node:fs';
import { parse, type DocumentNode } from 'graphql';

export { createResponseCache, defaultShouldCacheResult } from './response-cache.ts';
export type { ResponseCache, ResponseCacheOptions, CacheStats, CacheLogger, CacheEvent } from './response-cache.ts';
export type { EvictEvent, EvictionOutcome, EvictionReason, PendingEvictions } from './eviction-guard.ts';
export { useResponseCache } from './use-response-cache.ts';
export type { UseResponseCacheOptions } from './use-response-cache.ts';
export { createFastPath } from './http-front.ts';
export type { FastPathOptions } from './http-front.ts';
export { createMemoryStore, DEFAULT_MEMORY_MAX_BYTES } from './memory-store.ts';
export type { MemoryStore, MemoryStoreOptions } from './memory-store.ts';
export { createRedisStore, boundedRedisOptions, DEFAULT_REDIS_COMMAND_TIMEOUT_MS } from './redis-store.ts';
export type { RedisStore, RedisStoreOptions, RedisStoreOperation } from './redis-store.ts';
export { createTieredStore } from './tiered-store.ts';
export type { TieredStore, TieredStoreOptions, RemoteEviction } from './tiered-store.ts';
export type { CacheStore, CacheEntry, CacheScope, Lookup, ReadTicket, StoreStats, MaybePromise } from './store.ts';
export { DEFAULT_TOMBSTONE_MS } from './store.ts';
export { defaultBuildCacheKey } from './cache-key.ts';
export type { BuildCacheKey, CacheKeyInput, RequestLike } from './cache-key.ts';
export type { CacheHint, HintConfig } from './cache-hints.ts';
export type { CacheOutcome, CacheStatus } from './cache-http.ts';
export { withPreviousVersion } from './execution-tracker.ts';
export type { ResolverCacheControl } from './execution-tracker.ts';
export { createEnvelopCache, useEnvelopInvalidationBarrier, DEFAULT_ENVELOP_MAX_TTL_MS } from './envelop-cache.ts';
export type { EnvelopCache, EnvelopCacheOptions, EnvelopCacheOperation } from './envelop-cache.ts';
export { usePurgeEndpoint } from './use-purge-endpoint.ts';
export type { PurgeEndpointOptions } from './use-purge-endpoint.ts';
export { useStatsEndpoint } from './use-stats-endpoint.ts';
export type { StatsEndpointOptions } from './use-stats-endpoint.ts';

/** The SDL of `@cacheControl` and `@cacheList`: add it to your schema's type definitions. */
export const cacheDirectivesTypeDefs: string = readFileSync(new URL('./cache-directives.graphql', import.meta.url), 'utf8');

/** `cacheDirectivesTypeDefs`, parsed. */
export const cacheDirectivesDocument: DocumentNode = parse(cacheDirectivesTypeDefs);

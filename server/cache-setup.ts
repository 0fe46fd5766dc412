/**
 * The catalog's cache layer, as its configuration asks for it: the store (createCacheStore:
 * memory, Redis, or memory in front of Redis) and the engine over the catalog's schema, with
 * its cached fields, and Redis failures logged as warnings and counted, every store operation timed, every outcome
 * and eviction counted, and, at `debug`, logged.
 */
import type { GraphQLSchema } from 'graphql';
import {
  createCacheStore,
  createResponseCache,
  shortKeyHash,
  type CachedFieldConfig,
  type CacheEvent,
  type CacheMetrics,
  type CacheStore,
  type CacheStoreFailure,
  type EvictEvent,
  type RequestLike,
  type ResponseCache,
  type ResponseCacheOptions,
} from '../plugins/index.ts';
import type { CacheConfig } from './cache-config.ts';
import { yogaLogger, type Logger } from './logger.ts';

export interface CacheLayerOptions {
  config: CacheConfig;
  schema: GraphQLSchema;
  /** Who a request is for, from its headers alone. */
  session: (request: RequestLike) => string | null;
  logger: Logger;
  metrics: CacheMetrics;
  /** Fields whose resolved values are cached. @default {} */
  cachedFields?: CachedFieldConfig;
  /** Wraps the store built from `config` (see `CatalogServerOptions.wrapCacheStore`). @default none */
  wrapStore?: (store: CacheStore) => CacheStore;
}

export function createCacheLayer({ config, schema, session, logger, metrics, cachedFields = {}, wrapStore = (store) => store }: CacheLayerOptions): ResponseCache {
  const onError = (error: unknown, where: CacheStoreFailure) => {
    metrics.onStoreError(error, where);
    logger.warn({ where, error: (error as Error)?.message ?? String(error) }, `response cache: Redis ${where} failed; answering without it`);
  };
  const store = createCacheStore({
    redis: config.redis && ('url' in config.redis ? config.redis.url : config.redis),
    memoryBytes: config.memoryBytes,
    prefix: config.redisKeyPrefix,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    onError,
  });
  return createResponseCache({
    schema,
    // Timed outermost, so what a wrapper adds (the consistency checks' broken stores) counts too.
    store: metrics.timeStore(wrapStore(store)),
    session,
    cachedFields,
    includeExtensionMetadata: config.includeExtensionMetadata,
    evictionWaitMs: config.evictionWaitMs,
    logger: yogaLogger(logger),
    ...(logger.isLevelEnabled('debug') ? withDebugLines(metrics.events, logger) : metrics.events),
  });
}

type CacheEvents = CacheMetrics['events'];

/** The metrics' event hooks, each also logging its event at `debug`: no key in clear, no value. */
function withDebugLines(events: CacheEvents, logger: Logger): CacheEvents {
  const decision = (count: (event: CacheEvent) => void) => (event: CacheEvent) => {
    count(event);
    const { key, ...rest } = event;
    logger.debug({ ...rest, ...(key !== undefined && { key: shortKeyHash(key) }) }, `cache ${event.kind}`);
  };
  return {
    onHit: decision(events.onHit),
    onMiss: decision(events.onMiss),
    onBypass: decision(events.onBypass),
    onEvict(event: EvictEvent) {
      events.onEvict(event);
      logger.debug(event, 'cache eviction');
    },
  } satisfies Pick<ResponseCacheOptions, keyof CacheEvents>;
}

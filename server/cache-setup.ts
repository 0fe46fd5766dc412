/**
 * The catalog's cache layer, as its configuration asks for it: the store (createCacheStore:
 * memory, Redis, or memory in front of Redis) and the engine over the catalog's schema, with
 * its cached fields, and Redis failures logged as warnings.
 */
import type { GraphQLSchema } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import {
  createCacheStore,
  createResponseCache,
  type CachedFieldConfig,
  type CacheStore,
  type CacheStoreFailure,
  type RequestLike,
  type ResponseCache,
} from '../plugins/index.ts';
import type { CacheConfig } from './cache-config.ts';

export interface CacheLayerOptions {
  config: CacheConfig;
  schema: GraphQLSchema;
  /** Who a request is for, from its headers alone. */
  session: (request: RequestLike) => string | null;
  logger: YogaLogger;
  /** Fields whose resolved values are cached. @default {} */
  cachedFields?: CachedFieldConfig;
  /** Wraps the store built from `config` (see `CatalogServerOptions.wrapCacheStore`). @default none */
  wrapStore?: (store: CacheStore) => CacheStore;
}

export function createCacheLayer({ config, schema, session, logger, cachedFields = {}, wrapStore = (store) => store }: CacheLayerOptions): ResponseCache {
  const onError = (error: unknown, where: CacheStoreFailure) =>
    logger.warn(`response cache: Redis ${where} failed; answering without it`, (error as Error)?.message ?? error);
  const store = createCacheStore({
    redis: config.redis && ('url' in config.redis ? config.redis.url : config.redis),
    memoryBytes: config.memoryBytes,
    prefix: config.redisKeyPrefix,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    onError,
  });
  return createResponseCache({
    schema,
    store: wrapStore(store),
    session,
    cachedFields,
    includeExtensionMetadata: config.includeExtensionMetadata,
    evictionWaitMs: config.evictionWaitMs,
    logger,
  });
}

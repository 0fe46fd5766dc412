/**
 * Builds the cache layer the configuration asks for: the store (memory; Redis alone; or memory
 * in front of Redis kept honest by pub/sub), the engine over the schema, and the plugins and
 * HTTP front the server puts in its pipeline.
 */
import { Cluster, Redis } from 'ioredis';
import type { GraphQLSchema } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import {
  boundedRedisOptions,
  createMemoryStore,
  createRedisStore,
  createResponseCache,
  createTieredStore,
  type CacheStore,
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
  /** Wraps the store built from `config` (see `CatalogServerOptions.wrapCacheStore`). @default none */
  wrapStore?: (store: CacheStore) => CacheStore;
}

export function createCacheLayer({ config, schema, session, logger, wrapStore = (store) => store }: CacheLayerOptions): ResponseCache {
  return createResponseCache({
    schema,
    store: wrapStore(createStore(config, logger)),
    session,
    includeExtensionMetadata: config.includeExtensionMetadata,
    evictionWaitMs: config.evictionWaitMs,
    logger,
  });
}

function createStore(config: CacheConfig, logger: YogaLogger): CacheStore {
  if (!config.redis) return createMemoryStore({ maxBytes: config.memoryBytes });

  const onError = (error: unknown, operation?: string) =>
    logger.warn(`response cache: Redis ${operation ?? 'pub/sub'} failed; answering without it`, (error as Error)?.message ?? error);
  const bounded = boundedRedisOptions(config.redisCommandTimeoutMs);
  let client: Redis | Cluster;
  let subscriber: Redis | undefined;
  if ('url' in config.redis) {
    client = new Redis(config.redis.url, bounded);
  } else {
    const { clusterNodes } = config.redis;
    // Without auto-pipelining: see boundedRedisOptions.
    client = new Cluster(clusterNodes, {
      enableOfflineQueue: false,
      clusterRetryStrategy: bounded.retryStrategy,
      redisOptions: { ...bounded, enableAutoPipelining: false },
    });
    // PUBLISH reaches every node of a cluster: one plain connection to a seed hears them all.
    if (config.memoryBytes > 0) subscriber = new Redis({ ...bounded, autoResubscribe: false, host: clusterNodes[0].host, port: clusterNodes[0].port });
  }
  client.on('error', (error) => onError(error, 'connection'));
  subscriber?.on('error', (error) => onError(error, 'subscriber'));

  const remote = createRedisStore({ redis: client, prefix: config.redisKeyPrefix, commandTimeoutMs: config.redisCommandTimeoutMs, onError });
  const closeClients = async () => {
    await Promise.allSettled([client.quit(), subscriber?.quit()]);
  };
  if (config.memoryBytes === 0) return withClose(remote, closeClients);
  const tiered = createTieredStore({ local: createMemoryStore({ maxBytes: config.memoryBytes }), remote, subscriber, onError });
  return withClose(tiered, closeClients);
}

/** The store does not own clients passed to it: quit them after it closes. */
function withClose<T extends CacheStore>(store: T, after: () => Promise<void>): T {
  const close = store.close.bind(store);
  return Object.assign(store, {
    async close() {
      await close();
      await after();
    },
  });
}
